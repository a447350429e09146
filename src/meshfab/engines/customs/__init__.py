"""Customs engine: itemised declarations for cross-border parcels and duty/tax estimates (pure, no I/O)."""

from .declaration import DeclarableItem, Declaration, DeclarationLine, customs_declaration
from .duties import DutyEstimate, estimate_duties

__all__ = [
    "DeclarableItem",
    "Declaration",
    "DeclarationLine",
    "DutyEstimate",
    "customs_declaration",
    "estimate_duties",
]
