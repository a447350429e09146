"""Merchants and the channels their orders come from; all channels feed one order book."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from meshfab.domain.geo import Country, Slug
from meshfab.domain.money import Currency


class Channel(StrEnum):
    web = "web"
    marketplace = "marketplace"
    store = "store"
    api = "api"


class Incoterm(StrEnum):
    """Who pays import duties: DDP (merchant, buyer pays nothing at the door) or DAP (buyer)."""

    DDP = "DDP"
    DAP = "DAP"


class Merchant(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Slug
    name: str = Field(min_length=1, max_length=200)
    channel: Channel
    country: Country
    currency: Currency
    incoterm: Incoterm = Incoterm.DAP


class Buyer(BaseModel):
    """The consumer behind an order; kept on the order so a merchant's books are self-contained."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    email: str = Field(pattern=r"^[^@\s]{1,64}@[^@\s]{1,255}$")
