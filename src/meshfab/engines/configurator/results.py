"""What ``configure`` answers: plain frozen dataclasses, ready for an API schema or another engine."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Violation:
    rule: str  # the rule id, or "option:<key>" for a value the option itself does not allow
    message: str
    options: list[str]


@dataclass(frozen=True)
class Domain:
    """The values an option can still take in some complete valid configuration.

    ``values`` lists enum values in template order. ``intervals`` are closed ranges on the option's
    grid with ``step`` (number options) or of allowed lengths ≥ 1 with step 1 (text options).
    ``may_be_absent`` says "not given" is still possible (optional options, text, artwork);
    ``may_be_given`` that some actual value is.
    """

    kind: str
    values: list[str]
    intervals: list[tuple[int | float, int | float]]
    step: int | float | None
    may_be_absent: bool
    may_be_given: bool


@dataclass(frozen=True)
class Price:
    """Running price in integer minor units; ``complete`` is False while formulas wait for choices."""

    currency: str
    quantity: int
    unit: int
    total: int
    percent_off: str
    complete: bool
    pending: list[str]


@dataclass(frozen=True)
class MaterialLine:
    material: str
    quantity: float  # for the whole requested quantity
    unit: str
    per_unit: float


@dataclass(frozen=True)
class OperationLine:
    capability: str
    setup_family: str
    setup_minutes: int
    run_minutes_per_unit: float | int
    sequence: int
    name: str


@dataclass(frozen=True)
class Configuration:
    template: str
    valid: bool
    complete: bool
    violations: list[Violation]
    domains: dict[str, Domain]
    price: Price
    bill_of_materials: list[MaterialLine] | None = None
    operations: list[OperationLine] | None = None
    weight_grams: int | None = None
