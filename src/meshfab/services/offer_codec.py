"""Offers as JSON: the plan behind a promise survives between the quote and the order exactly as made."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from meshfab.engines.promise import Offer, Reservation


def offer_to_json(offer: Offer) -> dict[str, Any]:
    return {
        "factory_id": offer.factory_id,
        "region": offer.region,
        "lane_id": offer.lane_id,
        "reservations": [
            {
                "factory_id": r.factory_id,
                "capability": r.capability,
                "day": r.day.isoformat(),
                "minutes": r.minutes,
                "setup_family": r.setup_family,
                "setup_minutes": r.setup_minutes,
                "setup_saved": r.setup_saved,
            }
            for r in offer.reservations
        ],
        "ready_at": offer.ready_at.isoformat(),
        "ship_at": offer.ship_at.isoformat(),
        "delivery_by": offer.delivery_by.isoformat(),
        "production_cost": offer.production_cost,
        "shipping_cost": offer.shipping_cost,
        "price": offer.price,
        "currency": offer.currency,
        "quoted_at": offer.quoted_at.isoformat(),
        "labels": list(offer.labels),
    }


def offer_from_json(doc: dict[str, Any]) -> Offer:
    return Offer(
        factory_id=doc["factory_id"],
        region=doc["region"],
        lane_id=doc["lane_id"],
        reservations=tuple(
            Reservation(
                r["factory_id"],
                r["capability"],
                date.fromisoformat(r["day"]),
                r["minutes"],
                r["setup_family"],
                r["setup_minutes"],
                r["setup_saved"],
            )
            for r in doc["reservations"]
        ),
        ready_at=datetime.fromisoformat(doc["ready_at"]),
        ship_at=datetime.fromisoformat(doc["ship_at"]),
        delivery_by=date.fromisoformat(doc["delivery_by"]),
        production_cost=doc["production_cost"],
        shipping_cost=doc["shipping_cost"],
        price=doc["price"],
        currency=doc["currency"],
        quoted_at=datetime.fromisoformat(doc["quoted_at"]),
        labels=tuple(doc["labels"]),
    )
