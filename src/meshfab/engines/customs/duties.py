"""Estimate of import duties and taxes for a declaration, from the customs rules table.

Rules applied, in this order (each estimate lists the ones it used in ``notes``):

1. **Values.** Money stays in the declaration's currency, in minor units; only thresholds are converted, from
   the destination's ``threshold_currency`` through the table's ``exchange_rates``. De minimis thresholds and
   tiers are compared with the *goods* value (intrinsic value, shipping excluded), at or below = exempt.
2. **Duty base.** Per line: its value, plus its share of the shipping (by value) where ``duty_base`` has
   ``shipping`` (CIF countries: EU, UK, JP, KR, BR); FOB countries (US, CA, AU, MX) exclude it.
3. **Duty.** Lines from a ``preferential_origins`` country pay none. Otherwise the first matching ``tier``
   replaces everything else (rate × base − deduction, not below zero); else goods at or below the duty
   de minimis pay ``flat_duty_per_line`` per distinct HS code (EU from 2026-07) or nothing; else each line
   pays its chapter rate plus its origin's surcharge.
4. **Tax.** None when a tier includes it, or when the goods are at or below the tax de minimis. Otherwise
   rate × (the parts named in ``tax_base``: goods, shipping, the rounded duty); ``tax_inclusive`` grosses up
   (base × r / (1 − r)). Up to ``collected_at_sale_up_to`` the seller collects the tax at checkout (IOSS, UK,
   AU): it is still owed, but not at the border.
5. **Rounding.** Exact decimals throughout; each of duty and tax is rounded once, half up, to the minor unit.
6. **Who pays.** DDP: the merchant pays what is due at the border; DAP: the buyer pays it at the door.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from meshfab.domain.customs import CustomsRules, DeMinimis, Destination, Part, minor_exponent
from meshfab.domain.merchants import Incoterm

from .declaration import Declaration


@dataclass(frozen=True)
class DutyEstimate:
    destination_country: str
    currency: str
    duty: int
    tax: int
    tax_name: str
    at_sale: int
    """tax the seller collects at checkout (included in ``tax``)"""
    at_border: int
    """duty and tax due when the parcel enters the country"""
    border_payer: str
    """``merchant`` (DDP) or ``buyer`` (DAP)"""
    rules_valid_from: date
    notes: tuple[str, ...] = field(default=())

    @property
    def total(self) -> int:
        return self.duty + self.tax


def estimate_duties(declaration: Declaration, rules: CustomsRules) -> DutyEstimate:
    """Duties and taxes the destination would charge (raises ``UnknownDestination`` if the table lacks it)."""
    dest = rules.destination(declaration.destination_country)
    scale = Decimal(10) ** minor_exponent(declaration.currency)

    def threshold(amount: Decimal) -> Decimal:
        """A threshold of the table, as minor units of the declaration's currency."""
        return rules.convert(amount, dest.threshold_currency, declaration.currency) * scale

    goods = Decimal(declaration.goods_value)
    de_minimis = dest.de_minimis_for(declaration.origin_country)
    notes: list[str] = [f"rules of {dest.name} valid from {rules.valid_from.isoformat()}"]
    duty_exact, tax_covered = _duty(declaration, dest, de_minimis, goods, threshold, notes)
    duty = _round(duty_exact)

    tax = Decimal(0)
    if tax_covered:
        notes.append("the flat rate includes the import tax")
    elif goods <= threshold(de_minimis.tax):
        notes.append(f"goods at or below the {dest.tax_name} de minimis")
    else:
        parts = {Part.goods: goods, Part.shipping: Decimal(declaration.shipping), Part.duty: Decimal(duty)}
        base = sum((parts[p] for p in dest.tax_base), Decimal(0))
        rate = dest.tax_rate / (1 - dest.tax_rate) if dest.tax_inclusive else dest.tax_rate
        tax = base * rate
        if dest.tax_rate:
            notes.append(f"{dest.tax_name} {dest.tax_rate * 100:g} % on {' + '.join(dest.tax_base)}")
    tax_minor = _round(tax)
    at_sale = 0
    if dest.collected_at_sale_up_to is not None and goods <= threshold(dest.collected_at_sale_up_to):
        at_sale = tax_minor
        if tax_minor:
            notes.append(f"{dest.tax_name} collected by the seller at sale")
    payer = "merchant" if declaration.incoterm is Incoterm.DDP else "buyer"
    return DutyEstimate(
        destination_country=declaration.destination_country,
        currency=declaration.currency,
        duty=duty,
        tax=tax_minor,
        tax_name=dest.tax_name,
        at_sale=at_sale,
        at_border=duty + tax_minor - at_sale,
        border_payer=payer,
        rules_valid_from=rules.valid_from,
        notes=tuple(notes),
    )


def _duty(
    declaration: Declaration,
    dest: Destination,
    de_minimis: DeMinimis,
    goods: Decimal,
    threshold: Callable[[Decimal], Decimal],
    notes: list[str],
) -> tuple[Decimal, bool]:
    """The exact duty and whether a tier's flat rate also covers the tax."""
    lines = [line for line in declaration.lines if line.origin_country not in dest.preferential_origins]
    if len(lines) < len(declaration.lines):
        notes.append("preferential origin: no duty on its lines")
    if not lines:
        return Decimal(0), False
    shipping = Decimal(declaration.shipping) if Part.shipping in dest.duty_base else Decimal(0)
    bases = [Decimal(line.value) + (shipping * line.value / goods if goods else Decimal(0)) for line in lines]
    if declaration.origin_country not in dest.preferential_origins:
        for tier in dest.tiers:
            if goods <= threshold(tier.up_to):
                notes.append(f"flat rate {tier.rate * 100:g} % up to {tier.up_to} {dest.threshold_currency}")
                return max(Decimal(0), sum(bases) * tier.rate - threshold(tier.deduction)), tier.includes_tax
    if goods <= threshold(de_minimis.duty):
        if dest.flat_duty_per_line is None:
            notes.append("goods at or below the duty de minimis")
            return Decimal(0), False
        codes = {line.hs_code for line in lines}
        notes.append(f"flat duty {dest.flat_duty_per_line} {dest.threshold_currency} per HS code below de minimis")
        return threshold(dest.flat_duty_per_line) * len(codes), False
    duty = Decimal(0)
    for line, base in zip(lines, bases, strict=True):
        duty += base * (dest.duty_rate(line.hs_code) + dest.origin_surcharges.get(line.origin_country, Decimal(0)))
    notes.append("duty by HS chapter" + (" with origin surcharges" if dest.origin_surcharges else ""))
    return duty, False


def _round(amount: Decimal) -> int:
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))
