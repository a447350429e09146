"""The typed syntax tree of meshfab's rule and formula language.

Rules and formulas share one grammar: a formula is an expression of number type, a rule one of boolean
type. Names are resolved against the template's options only when the template is checked, because the
parser does not know the options; a bare name that is not an option is an enum value written without
quotes (``size = XL``).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class Number:
    value: Fraction
    pos: int


@dataclass(frozen=True)
class Text:
    """A quoted string, or a bare word that cannot be a name (``2XL``, ``60cm``)."""

    value: str
    pos: int
    quoted: bool


@dataclass(frozen=True)
class Bool:
    value: bool
    pos: int


@dataclass(frozen=True)
class Name:
    name: str
    pos: int


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "not"
    operand: Expr
    pos: int


@dataclass(frozen=True)
class Binary:
    """Arithmetic (+ - * /), comparison (= != < <= > >=) or logic (and or requires excludes)."""

    op: str
    left: Expr
    right: Expr
    pos: int


@dataclass(frozen=True)
class InList:
    operand: Expr
    items: tuple[Expr, ...]
    negated: bool
    pos: int


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Expr, ...]
    pos: int


@dataclass(frozen=True)
class Lookup:
    """``lookup(size, {S: 1.2, M: 1.3, else: 1.5})``: a number chosen by an enum option's value."""

    option: Name
    table: tuple[tuple[str, Expr], ...]
    default: Expr | None
    pos: int


Expr = Number | Text | Bool | Name | Unary | Binary | InList | Call | Lookup

ARITHMETIC = frozenset({"+", "-", "*", "/"})
COMPARISONS = frozenset({"=", "!=", "<", "<=", ">", ">="})
LOGIC = frozenset({"and", "or", "requires", "excludes"})


def names_in(expr: Expr) -> set[str]:
    """Every name the expression mentions (options and bare enum values alike)."""
    found: set[str] = set()
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Name):
            found.add(node.name)
        elif isinstance(node, Unary):
            stack.append(node.operand)
        elif isinstance(node, Binary):
            stack.extend((node.left, node.right))
        elif isinstance(node, InList):
            stack.append(node.operand)
            stack.extend(node.items)
        elif isinstance(node, Call):
            stack.extend(node.args)
        elif isinstance(node, Lookup):
            stack.append(node.option)
            stack.extend(value for _, value in node.table)
            if node.default is not None:
                stack.append(node.default)
    return found
