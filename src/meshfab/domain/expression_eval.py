"""Evaluation of checked expressions, compiled once into Python closures (never ``eval``).

An environment maps each option key to its *rule value*: the enum value (str) or None when an optional
enum is not chosen, the number (Fraction) or None, the text's length (0 when not given) and, for artwork,
whether it is given. Rules never see the text itself, only whether it is given and how long it is, which
keeps every domain finite so that the configurator's domains can be exact.

Semantics where a choice is absent: a comparison or ``in`` on an absent option is false (``!=`` and
``not in`` true); in arithmetic an absent number counts as 0. Division by zero gives 0 rather than failing
a whole template on one corner of a formula. ``round`` rounds half away from zero.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

from meshfab.domain.expression_ast import Binary, Bool, Call, Expr, InList, Lookup, Name, Number, Unary
from meshfab.domain.expression_types import Scope, enum_side, literal_text

Env = Mapping[str, Any]
BoolFn = Callable[[Env], bool]
NumFn = Callable[[Env], Fraction]

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_FLIP = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
ZERO = Fraction(0)


def round_half_up(value: Fraction) -> int:
    """Half away from zero: 2.5 → 3, -2.5 → -3 (prices are never negative, so "half up")."""
    magnitude = math.floor(abs(value) + Fraction(1, 2))
    return magnitude if value >= 0 else -magnitude


def given_fn(key: str, kind: str) -> BoolFn:
    if kind in ("text", "artwork"):
        return lambda env: bool(env[key])
    return lambda env: env[key] is not None


def bool_fn(node: Expr, scope: Scope) -> BoolFn:
    if isinstance(node, Bool):
        constant = node.value
        return lambda env: constant
    if isinstance(node, Name):
        return given_fn(node.name, scope.kinds[node.name])
    if isinstance(node, Unary):
        inner = bool_fn(node.operand, scope)
        return lambda env: not inner(env)
    if isinstance(node, Call):
        arg = node.args[0]
        assert isinstance(arg, Name)
        return given_fn(arg.name, scope.kinds[arg.name])
    if isinstance(node, InList):
        return _membership(node, scope)
    assert isinstance(node, Binary)
    if node.op in _ORDER:
        return _comparison(node, scope)
    left, right = bool_fn(node.left, scope), bool_fn(node.right, scope)
    if node.op == "and":
        return lambda env: left(env) and right(env)
    if node.op == "or":
        return lambda env: left(env) or right(env)
    if node.op == "requires":
        return lambda env: not left(env) or right(env)
    return lambda env: not (left(env) and right(env))  # excludes


def _comparison(node: Binary, scope: Scope) -> BoolFn:
    op = node.op
    left_enum, right_enum = enum_side(node.left, scope), enum_side(node.right, scope)
    if left_enum and right_enum:
        equal = op == "="
        return lambda env: (env[left_enum] == env[right_enum] and env[left_enum] is not None) == equal
    if left_enum or right_enum:
        key = left_enum or right_enum or ""
        if right_enum:
            op = _FLIP[op]
        literal = literal_text(node.right if left_enum else node.left, scope)
        order = {value: index for index, value in enumerate(scope.enum_values[key])}
        target, compare, absent = order[literal or ""], _ORDER[op], op == "!="
        return lambda env: absent if env[key] is None else compare(order[env[key]], target)
    left, right, compare = num_fn(node.left, scope), num_fn(node.right, scope), _ORDER[op]
    bare = [side.name for side in (node.left, node.right) if isinstance(side, Name)]
    absent = op == "!="
    if bare:
        return lambda env: absent if any(env[key] is None for key in bare) else compare(left(env), right(env))
    return lambda env: compare(left(env), right(env))


def _membership(node: InList, scope: Scope) -> BoolFn:
    negated = node.negated
    key = enum_side(node.operand, scope)
    if key:
        values = frozenset(literal_text(item, scope) for item in node.items)
        return lambda env: negated if env[key] is None else (env[key] in values) != negated
    operand = num_fn(node.operand, scope)
    items = [num_fn(item, scope) for item in node.items]
    bare = node.operand.name if isinstance(node.operand, Name) else None

    def member(env: Env) -> bool:
        if bare is not None and env[bare] is None:
            return negated
        value = operand(env)
        return any(value == item(env) for item in items) != negated

    return member


def num_fn(node: Expr, scope: Scope) -> NumFn:
    if isinstance(node, Number):
        constant = node.value
        return lambda env: constant
    if isinstance(node, Name):
        key = node.name
        return lambda env: ZERO if env[key] is None else env[key]
    if isinstance(node, Unary):
        inner = num_fn(node.operand, scope)
        return lambda env: -inner(env)
    if isinstance(node, Binary):
        left, right = num_fn(node.left, scope), num_fn(node.right, scope)
        if node.op == "+":
            return lambda env: left(env) + right(env)
        if node.op == "-":
            return lambda env: left(env) - right(env)
        if node.op == "*":
            return lambda env: left(env) * right(env)
        return lambda env: _divide(left(env), right(env))
    if isinstance(node, Lookup):
        key = node.option.name
        table = {value: num_fn(expr, scope) for value, expr in node.table}
        default = num_fn(node.default, scope) if node.default is not None else (lambda env: ZERO)
        return lambda env: table.get(env[key], default)(env)
    assert isinstance(node, Call)
    return _call(node, scope)


def _divide(numerator: Fraction, denominator: Fraction) -> Fraction:
    return numerator / denominator if denominator else ZERO


def _call(node: Call, scope: Scope) -> NumFn:
    if node.func == "len":
        arg = node.args[0]
        assert isinstance(arg, Name)
        key = arg.name
        return lambda env: Fraction(env[key])
    if node.func == "if":
        condition = bool_fn(node.args[0], scope)
        then, otherwise = num_fn(node.args[1], scope), num_fn(node.args[2], scope)
        return lambda env: then(env) if condition(env) else otherwise(env)
    args = [num_fn(arg, scope) for arg in node.args]
    if node.func == "min":
        return lambda env: min(arg(env) for arg in args)
    if node.func == "max":
        return lambda env: max(arg(env) for arg in args)
    inner = args[0]
    if node.func == "ceil":
        return lambda env: Fraction(math.ceil(inner(env)))
    if node.func == "floor":
        return lambda env: Fraction(math.floor(inner(env)))
    if node.func == "round":
        return lambda env: Fraction(round_half_up(inner(env)))
    return lambda env: abs(inner(env))
