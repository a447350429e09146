"""Name resolution and type checking of parsed expressions against a template's options.

Types are ``num``, ``bool`` and a few that only make sense in one place: an enum option (compared with its
values), a text or artwork option (used through ``len``/``given``), and a bare word (an enum value). In a
boolean position an option name means "is given" (``monogram requires fabric = cotton``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from meshfab.domain.expression_ast import (
    ARITHMETIC,
    COMPARISONS,
    LOGIC,
    Binary,
    Bool,
    Call,
    Expr,
    InList,
    Lookup,
    Name,
    Number,
    Text,
    Unary,
)


@dataclass(frozen=True)
class Scope:
    """What names mean in a template: option kinds, enum values in order, number units."""

    kinds: Mapping[str, str]
    enum_values: Mapping[str, tuple[str, ...]]
    units: Mapping[str, str]


def literal_text(node: Expr, scope: Scope) -> str | None:
    """The enum value a literal stands for, or None if the node is not a literal."""
    if isinstance(node, Text):
        return node.value
    if isinstance(node, Name) and node.name not in scope.kinds:
        return node.name
    if isinstance(node, Number):
        value = node.value
        return str(value.numerator) if value.denominator == 1 else str(float(value))
    return None


def enum_side(node: Expr, scope: Scope) -> str | None:
    if isinstance(node, Name) and scope.kinds.get(node.name) == "enum":
        return node.name
    return None


class _Checker:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.errors: list[tuple[int, str]] = []

    def fail(self, node: Expr, message: str) -> None:
        self.errors.append((node.pos, message))

    def option(self, node: Expr, kinds: tuple[str, ...], what: str) -> str | None:
        if not isinstance(node, Name):
            self.fail(node, f"{what} needs an option name")
            return None
        kind = self.scope.kinds.get(node.name)
        if kind is None:
            self.fail(node, f"unknown option {node.name!r}")
            return None
        if kind not in kinds:
            self.fail(node, f"{what} does not apply to {kind} option {node.name!r}")
            return None
        return node.name

    def boolean(self, node: Expr) -> None:
        if isinstance(node, Bool):
            return
        if isinstance(node, Name):
            if node.name not in self.scope.kinds:
                self.fail(node, f"unknown option {node.name!r}")
            return
        if isinstance(node, Unary) and node.op == "not":
            self.boolean(node.operand)
        elif isinstance(node, Binary) and node.op in LOGIC:
            self.boolean(node.left)
            self.boolean(node.right)
        elif isinstance(node, Binary) and node.op in COMPARISONS:
            self.comparison(node)
        elif isinstance(node, InList):
            self.membership(node)
        elif isinstance(node, Call) and node.func == "given":
            if len(node.args) != 1:
                self.fail(node, "given() takes one option")
            else:
                self.option(node.args[0], ("enum", "number", "text", "artwork"), "given()")
        else:
            self.fail(node, "expected a condition (comparison, 'in', given(), and/or/not)")

    def enum_literal(self, option: str, node: Expr) -> None:
        if isinstance(node, Name) and node.name in self.scope.kinds:
            self.fail(node, f"{node.name!r} is an option, not a value of {option!r}")
            return
        value = literal_text(node, self.scope)
        if value is None:
            self.fail(node, f"expected a value of {option!r} (quote values that are not plain words: 'a-b')")
        elif value not in self.scope.enum_values[option]:
            allowed = ", ".join(self.scope.enum_values[option])
            self.fail(node, f"{value!r} is not a value of {option!r} (values: {allowed})")

    def comparison(self, node: Binary) -> None:
        left, right = enum_side(node.left, self.scope), enum_side(node.right, self.scope)
        if left and right:
            if node.op not in ("=", "!="):
                self.fail(node, "two enum options can only be compared with = or !=")
        elif left or right:
            self.enum_literal(left or right or "", node.right if left else node.left)
        else:
            self.number(node.left)
            self.number(node.right)

    def membership(self, node: InList) -> None:
        option = enum_side(node.operand, self.scope)
        for item in node.items:
            if option:
                self.enum_literal(option, item)
            else:
                self.number(item)
        if not option:
            self.number(node.operand)

    def number(self, node: Expr) -> None:
        if isinstance(node, Number):
            return
        if isinstance(node, Name):
            kind = self.scope.kinds.get(node.name)
            if kind is None:
                self.fail(node, f"unknown option {node.name!r}")
            elif kind != "number":
                hint = {"enum": "use lookup()", "text": "use len()", "artwork": "use given()"}[kind]
                self.fail(node, f"{kind} option {node.name!r} is not a number ({hint})")
        elif isinstance(node, Text):
            message = f"expected a number, found {node.value!r}"
            if not node.quoted and node.value[:1].isdigit():
                message += " (numbers are written without units: 60, not 60cm)"
            self.fail(node, message)
        elif isinstance(node, Unary) and node.op == "-":
            self.number(node.operand)
        elif isinstance(node, Binary) and node.op in ARITHMETIC:
            self.number(node.left)
            self.number(node.right)
        elif isinstance(node, Call) and node.func == "len":
            if len(node.args) != 1:
                self.fail(node, "len() takes one text option")
            else:
                self.option(node.args[0], ("text",), "len()")
        elif isinstance(node, Call) and node.func == "if":
            if len(node.args) != 3:
                self.fail(node, "if() takes a condition and two numbers")
            else:
                self.boolean(node.args[0])
                self.number(node.args[1])
                self.number(node.args[2])
        elif isinstance(node, Call) and node.func in ("min", "max"):
            if len(node.args) < 2:
                self.fail(node, f"{node.func}() takes at least two numbers")
            for arg in node.args:
                self.number(arg)
        elif isinstance(node, Call) and node.func in ("ceil", "floor", "round", "abs"):
            if len(node.args) != 1:
                self.fail(node, f"{node.func}() takes one number")
            else:
                self.number(node.args[0])
        elif isinstance(node, Lookup):
            self.lookup(node)
        else:
            self.fail(node, "expected a number")

    def lookup(self, node: Lookup) -> None:
        option = self.option(node.option, ("enum",), "lookup()")
        for key, value in node.table:
            if option and key not in self.scope.enum_values[option]:
                self.fail(node, f"lookup key {key!r} is not a value of {option!r}")
            self.number(value)
        if node.default is not None:
            self.number(node.default)
        elif option:
            missing = [v for v in self.scope.enum_values[option] if v not in dict(node.table)]
            if missing:
                self.fail(node, f"lookup() misses {', '.join(missing)} (add them or an 'else' entry)")


def check_expression(expr: Expr, scope: Scope, want: str) -> list[tuple[int, str]]:
    """Type errors as (position, message); ``want`` is "bool" for rules and conditions, "num" for formulas."""
    checker = _Checker(scope)
    if want == "bool":
        checker.boolean(expr)
    else:
        checker.number(expr)
    return checker.errors


def fraction_text(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else str(float(value))
