"""A template compiled once into a finite constraint problem over bit masks.

Every option becomes a variable whose values are its *rule values* (enum values, grid numbers, text
lengths, artwork given or not, plus "absent" for optional options), and a domain is an int bit mask over
them. Every rule becomes clauses of set literals, ``x1 ∈ S1 ∨ x2 ∈ S2 ∨ …``: rules whose comparisons each
mention one option go through a CNF conversion (compact: ``a in [..] requires b <= 60`` is one clause);
rules with comparisons across options (``chest_cm >= waist_cm + 10``) are tabulated and grouped by the
allowed values of their last option. Clauses are what the solver propagates and what single-value flips
are checked against, so both need only mask arithmetic at configure time.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from meshfab.domain.catalog import Template
from meshfab.domain.catalog_checks import parse_checked, scope_of
from meshfab.domain.catalog_errors import Problem, TemplateError
from meshfab.domain.expression_ast import Binary, Expr, Unary, names_in
from meshfab.domain.expression_eval import BoolFn, bool_fn
from meshfab.domain.expression_types import Scope

MAX_CNF_CLAUSES = 256
MAX_TABLE = 100_000
Literal_ = tuple[int, int]
Clause = tuple[Literal_, ...]


@dataclass(frozen=True)
class Var:
    key: str
    kind: str
    values: tuple[Any, ...]
    absent: int | None  # index of the "not given" value, if the option has one
    full: int  # mask of every value
    init: int  # mask of values allowed before any rule (required options exclude "absent")


@dataclass
class Compiled:
    template: Template
    scope: Scope
    vars: list[Var]
    position: dict[str, int]
    clauses: list[Clause]
    clause_rule: list[int]
    var_clauses: list[list[Clause]]
    flips: list[list[tuple[int, Clause]]]  # per var: (its mask in the clause, the other literals)
    rules: list[BoolFn]
    root: list[int] | None  # domains after propagation with no choice; None if nothing is valid
    pool: deque[tuple[int, ...]] = field(default_factory=lambda: deque(maxlen=48))


def _make_var(option: Any) -> Var:
    values = tuple(option.rule_values())
    full = (1 << len(values)) - 1
    if option.type in ("text", "artwork"):
        absent: int | None = 0
    else:
        absent = None if option.required else len(values) - 1
    init = full & ~(1 << absent) if option.required and absent is not None else full
    return Var(option.key, option.type, values, absent, full, init)


def _logic(node: Expr) -> bool:
    return (isinstance(node, Unary) and node.op == "not") or (
        isinstance(node, Binary) and node.op in ("and", "or", "requires", "excludes")
    )


def _atoms(node: Expr) -> list[Expr]:
    if isinstance(node, Unary) and node.op == "not":
        return _atoms(node.operand)
    if isinstance(node, Binary) and _logic(node):
        return _atoms(node.left) + _atoms(node.right)
    return [node]


class _TooBig(Exception):
    pass


class _Cnf:
    """CNF of a rule whose atoms each mention at most one option; clauses are {var: mask} dicts."""

    def __init__(self, compiled_vars: list[Var], position: dict[str, int], scope: Scope) -> None:
        self.vars, self.position, self.scope = compiled_vars, position, scope

    def atom(self, node: Expr, positive: bool) -> list[dict[int, int]]:
        keys = [key for key in names_in(node) if key in self.position]
        holds = bool_fn(node, self.scope)
        if not keys:
            return [] if holds({}) == positive else [{}]
        var = self.position[keys[0]]
        info = self.vars[var]
        mask = sum(1 << i for i, value in enumerate(info.values) if holds({info.key: value}) == positive)
        if mask == info.full:
            return []
        return [{var: mask}] if mask else [{}]

    def convert(self, node: Expr, positive: bool = True) -> list[dict[int, int]]:
        if isinstance(node, Unary) and node.op == "not":
            return self.convert(node.operand, not positive)
        if not (isinstance(node, Binary) and _logic(node)):
            return self.atom(node, positive)
        op = node.op
        if op in ("and", "or"):
            left, right = self.convert(node.left, positive), self.convert(node.right, positive)
            conjunction = (op == "and") == positive
        else:  # a requires b = ¬a ∨ b ; a excludes b = ¬a ∨ ¬b
            left = self.convert(node.left, not positive)
            right = self.convert(node.right, positive == (op == "requires"))
            conjunction = not positive
        if conjunction:
            return left + right
        return self.disjoin(left, right)

    def disjoin(self, left: list[dict[int, int]], right: list[dict[int, int]]) -> list[dict[int, int]]:
        clauses: list[dict[int, int]] = []
        for a, b in itertools.product(left, right):
            merged = dict(a)
            for var, mask in b.items():
                merged[var] = merged.get(var, 0) | mask
            if all(mask != self.vars[var].full for var, mask in merged.items()):
                clauses.append(merged)
            if len(clauses) > MAX_CNF_CLAUSES:
                raise _TooBig
        return clauses


def _table(compiled_vars: list[Var], keys: list[int], holds: BoolFn) -> list[dict[int, int]]:
    """Clauses of an arbitrary rule: for each assignment of all but the last option, the last's values."""
    *prefix_vars, last = keys
    info = [compiled_vars[var] for var in keys]
    groups: dict[tuple[tuple[int, ...], int], int] = {}
    for combo in itertools.product(*(range(len(item.values)) for item in info[:-1])):
        env = {item.key: item.values[index] for item, index in zip(info, combo, strict=False)}
        allowed = 0
        for index, value in enumerate(info[-1].values):
            env[info[-1].key] = value
            if holds(env):
                allowed |= 1 << index
        if allowed != info[-1].full:
            group = (combo[:-1], allowed)
            groups[group] = groups.get(group, 0) | 1 << combo[-1]
    clauses = []
    for (head, allowed), chosen in groups.items():
        clause = {var: compiled_vars[var].full & ~(1 << index) for var, index in zip(prefix_vars, head, strict=False)}
        clause[prefix_vars[-1]] = compiled_vars[prefix_vars[-1]].full & ~chosen
        if allowed:
            clause[last] = allowed
        clauses.append({var: mask for var, mask in clause.items() if mask})
    return clauses


def _rule_clauses(index: int, expr: Expr, comp: Compiled) -> list[dict[int, int]]:
    atoms = _atoms(expr)
    if all(len(names_in(atom) & set(comp.position)) <= 1 for atom in atoms):
        try:
            return _Cnf(comp.vars, comp.position, comp.scope).convert(expr)
        except _TooBig:
            pass
    keys = sorted(comp.position[key] for key in names_in(expr) if key in comp.position)
    size = math.prod(len(comp.vars[var].values) for var in keys)
    if size > MAX_TABLE:
        rule = comp.template.rules[index].id
        raise TemplateError(
            [Problem(("rules", index, "rule"), f"rule {rule!r} spans {size} combinations (at most {MAX_TABLE})")]
        )
    return _table(comp.vars, keys, bool_fn(expr, comp.scope))


def compile_rules(template: Template) -> Compiled:
    scope = scope_of(template)
    compiled_vars = [_make_var(option) for option in template.options]
    position = {var.key: index for index, var in enumerate(compiled_vars)}
    comp = Compiled(
        template,
        scope,
        compiled_vars,
        position,
        [],
        [],
        [[] for _ in compiled_vars],
        [[] for _ in compiled_vars],
        [],
        None,
    )
    problems: list[Problem] = []
    for index, rule in enumerate(template.rules):
        expr = parse_checked(rule.rule, scope, "bool", ("rules", index, "rule"), problems)
        if expr is None:
            continue
        comp.rules.append(bool_fn(expr, scope))
        for clause_dict in _rule_clauses(index, expr, comp):
            clause = tuple(sorted(clause_dict.items()))
            comp.clauses.append(clause)
            comp.clause_rule.append(index)
            for var, mask in clause:
                comp.var_clauses[var].append(clause)
                comp.flips[var].append((mask, tuple(lit for lit in clause if lit[0] != var)))
    if problems:
        raise TemplateError(problems)
    return comp
