"""Promise engine: capable-to-promise quotes on aggregate capacity buckets (pure, deterministic, no I/O).

``CapacitySnapshot`` holds the mesh's buckets as arrays; ``quote`` answers offers or a refusal; ``check``
re-validates an offer's plan by the same rules; ``calendar_buckets`` turns a calendar into bucket minutes.
"""

from .engine import check, quote
from .problem import Offer, OperationNeed, QuoteRequest, Refusal, RefusalReason, Reservation
from .snapshot import CapacitySnapshot
from .timegrid import DESTINATION_ZONES, calendar_buckets

__all__ = [
    "DESTINATION_ZONES",
    "CapacitySnapshot",
    "Offer",
    "OperationNeed",
    "QuoteRequest",
    "Refusal",
    "RefusalReason",
    "Reservation",
    "calendar_buckets",
    "check",
    "quote",
]
