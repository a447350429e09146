"""The template language: a customisable product as options, rules, price, materials and operations.

Documents are validated in two steps. Pydantic checks the shape (types, ranges, slugs, ISO codes); then
``catalog_checks`` checks what pydantic cannot see field by field: that rules and formulas parse, name only
existing options and values, and have the right type. ``Template.model_validate`` runs both and rejects a
bad template; ``validate_template`` runs both too but returns warnings and raises a ``TemplateError`` whose
``problems`` carry JSON paths, which the YAML loader maps to line numbers.

Money is integer minor units of the template's currency (fen, cents). Formulas are strings in meshfab's
expression language (see ``expressions``); a plain number is accepted wherever a formula is.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from meshfab.domain.catalog_checks import check_template
from meshfab.domain.catalog_errors import Problem, TemplateError
from meshfab.domain.geo import ISO_3166 as COUNTRIES
from meshfab.domain.money import ISO_4217 as CURRENCIES

Capability = Literal[
    "cut",
    "sew",
    "print_dtg",
    "print_screen",
    "sublimation",
    "embroider",
    "dye",
    "mould",
    "cast",
    "engrave",
    "laser",
    "pack",
]
Key = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=60)]


def _number_to_text(value: Any) -> Any:
    if isinstance(value, bool):
        return value  # rejected by the str field: true/false is not a formula
    if isinstance(value, int | float | Decimal):
        return str(value)
    return value


Formula = Annotated[str, BeforeValidator(_number_to_text), Field(min_length=1)]
Condition = Annotated[str, Field(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Option(_Model):
    key: Key
    label: str = ""
    help: str = ""
    required: bool = True


class EnumValue(_Model):
    value: Annotated[str, BeforeValidator(_number_to_text), Field(min_length=1, max_length=60)]
    label: str = ""
    price_delta: int = 0


class EnumOption(_Option):
    """A choice among listed values; rules may order them by their position in the list."""

    type: Literal["enum"]
    values: list[EnumValue]
    default: Annotated[str | None, BeforeValidator(_number_to_text)] = None

    def rule_values(self) -> list[Any]:
        return [value.value for value in self.values] + ([] if self.required else [None])


class NumberOption(_Option):
    """A measured choice on a grid min, min+step, …, max, so that its domain is finite and exact."""

    type: Literal["number"]
    unit: str = Field(min_length=1)
    min: Decimal
    max: Decimal
    step: Decimal = Decimal(1)
    default: Decimal | None = None

    def grid(self) -> list[Fraction]:
        low, step = Fraction(self.min), Fraction(self.step)
        count = int((Fraction(self.max) - low) / step) + 1 if self.max >= self.min else 0
        return [low + step * index for index in range(count)]

    def rule_values(self) -> list[Any]:
        return list(self.grid()) + ([] if self.required else [None])


CHARSETS = {
    "digits": "0123456789",
    "latin_upper": "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-'&!?#",
    "latin": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,-'&!?#",
}


class TextOption(_Option):
    """Free text (names, engravings). Rules see only its length: 0 means not given."""

    type: Literal["text"]
    max_length: int = Field(ge=1, le=500)
    charset: Literal["digits", "latin_upper", "latin", "printable"] = "printable"
    extra_characters: str = ""
    default: str | None = None

    def bad_characters(self, text: str) -> list[str]:
        if self.charset == "printable":
            bad = [char for char in text if not char.isprintable()]
        else:
            allowed = CHARSETS[self.charset] + self.extra_characters
            bad = [char for char in text if char not in allowed]
        return sorted(set(bad))

    def rule_values(self) -> list[Any]:
        return list(range(self.max_length + 1))


class ArtworkOption(_Option):
    """A reference to an uploaded file. Rules see only whether it is given."""

    type: Literal["artwork"]
    formats: list[Literal["png", "jpg", "svg", "pdf", "ai", "eps", "tiff"]] = Field(min_length=1)
    max_megabytes: Decimal = Field(gt=0, le=500)
    min_width_px: int | None = Field(default=None, ge=1)

    def rule_values(self) -> list[Any]:
        return [False, True]


Option = Annotated[EnumOption | NumberOption | TextOption | ArtworkOption, Field(discriminator="type")]


class Rule(_Model):
    id: Annotated[str, Field(pattern=r"^[a-z0-9]+([-_][a-z0-9]+)*$", max_length=60)]
    rule: Condition
    message: str = ""


class QuantityBreak(_Model):
    min_quantity: int = Field(ge=2)
    percent_off: Decimal = Field(gt=0, lt=100)


class PriceFormula(_Model):
    label: str = Field(min_length=1)
    amount: Formula
    when: Condition | None = None


class Price(_Model):
    """Unit price = base + deltas of chosen enum values + formulas, less the quantity break.

    Computed exactly (fractions), then rounded once, half up, to a whole minor unit per unit; the total is
    that unit price times the quantity, so a quote and its invoice always agree to the cent.
    """

    base: int = Field(ge=0)
    formulas: list[PriceFormula] = []
    quantity_breaks: list[QuantityBreak] = []

    @field_validator("quantity_breaks")
    @classmethod
    def _increasing(cls, breaks: list[QuantityBreak]) -> list[QuantityBreak]:
        quantities = [item.min_quantity for item in breaks]
        if quantities != sorted(set(quantities)):
            raise ValueError("quantity breaks must have strictly increasing min_quantity")
        return breaks


class Material(_Model):
    material: Slug
    unit: str = Field(min_length=1)
    quantity: Formula
    when: Condition | None = None


class Operation(_Model):
    """One step; lots are batched by the values of the ``setup_by`` options (its setup family)."""

    capability: Capability
    name: str = ""
    when: Condition | None = None
    setup_by: list[Key] = []
    setup_minutes: Formula = "0"
    run_minutes: Formula


class Packing(_Model):
    units_per_box: int = Field(ge=1)
    box: str = "carton"
    box_weight_grams: int = Field(default=0, ge=0)


class Template(_Model):
    key: Slug
    name: str = Field(min_length=1)
    description: str = ""
    currency: str
    hs_code: str = Field(pattern=r"^\d{6}$")
    origin_country: str = "CN"
    weight_grams: Formula
    packing: Packing
    options: list[Option] = Field(min_length=1)
    rules: list[Rule] = []
    price: Price
    materials: list[Material] = []
    operations: list[Operation] = Field(min_length=1)

    @field_validator("currency")
    @classmethod
    def _currency(cls, code: str) -> str:
        if code not in CURRENCIES:
            raise ValueError(f"{code!r} is not an ISO 4217 currency code")
        return code

    @field_validator("origin_country")
    @classmethod
    def _country(cls, code: str) -> str:
        if code not in COUNTRIES:
            raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
        return code

    @model_validator(mode="after")
    def _cross_checks(self, info: ValidationInfo) -> Template:
        if isinstance(info.context, dict) and info.context.get("skip_cross_checks"):
            return self
        problems, _ = check_template(self)
        if problems:
            raise ValueError("\n".join(str(problem) for problem in problems))
        return self

    def option(self, key: str) -> EnumOption | NumberOption | TextOption | ArtworkOption:
        for option in self.options:
            if option.key == key:
                return option
        raise KeyError(key)


def validate_template(doc: dict[str, Any]) -> tuple[Template, list[str]]:
    """Validate a template document: the template and its warnings, or a ``TemplateError`` with all problems.

    Warnings here are what can be judged rule by rule (a rule nothing can satisfy, a rule that never
    constrains anything); ``meshfab.engines.configurator.template_warnings`` adds what needs all rules
    together (values no configuration can use).
    """
    try:
        template = Template.model_validate(doc, context={"skip_cross_checks": True})
    except ValidationError as error:
        raise TemplateError(
            [Problem(tuple(item["loc"]), item["msg"]) for item in error.errors(include_url=False)]
        ) from None
    problems, warnings = check_template(template)
    if problems:
        raise TemplateError(problems)
    return template, warnings
