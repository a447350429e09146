"""Parcels engine: consolidation of finished lines into parcels and the choice of lane per parcel (pure)."""

from .consolidate import (
    MAX_PARCEL_GRAMS,
    Box,
    FinishedLine,
    NoLane,
    ParcelItem,
    ParcelPlan,
    ParcelTooHeavy,
    consolidate,
    next_cutoff,
    parcel_weights,
    size_class,
)
from .service import ServiceChoice, choose_service, delivery_date, evaluate, promise_broken, shipping_cost

__all__ = [
    "MAX_PARCEL_GRAMS",
    "Box",
    "FinishedLine",
    "NoLane",
    "ParcelItem",
    "ParcelPlan",
    "ParcelTooHeavy",
    "ServiceChoice",
    "choose_service",
    "consolidate",
    "delivery_date",
    "evaluate",
    "next_cutoff",
    "parcel_weights",
    "promise_broken",
    "shipping_cost",
    "size_class",
]
