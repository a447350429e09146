"""Exact domains: which values of each option some complete valid configuration still uses.

Propagation (generalised arc consistency on each clause) removes values that a single rule already
forbids, but it is not exact: values can survive it and still lead to a dead end. Exactness comes from
*support*: a value is kept only when a whole valid configuration containing it is found. Finding one
configuration supports many values at once — all of its own, and every value any free option could take
instead without breaking a clause (a "flip", checked with masks only). Values still unsupported get a
targeted depth-first search, whose value ordering prefers unsupported values; a search that fails proves
the value dead, and it is removed and propagated. Solutions found are pooled per template, so the next
click usually starts with most values already supported.
"""

from __future__ import annotations

from meshfab.engines.configurator.compile import Clause, Compiled


def propagate(doms: list[int], changed: list[int], var_clauses: list[list[Clause]]) -> bool:
    stack = list(changed)
    while stack:
        for clause in var_clauses[stack.pop()]:
            open_count = 0
            unit_var = unit_mask = 0
            for var, mask in clause:
                current = doms[var]
                inside = current & mask
                if inside:
                    if inside == current:
                        break  # literal certainly true: clause satisfied
                    open_count += 1
                    if open_count > 1:
                        break
                    unit_var, unit_mask = var, mask
            else:
                if open_count == 0:
                    return False
                narrowed = doms[unit_var] & unit_mask
                if narrowed != doms[unit_var]:
                    doms[unit_var] = narrowed
                    stack.append(unit_var)
    return True


def root_domains(comp: Compiled) -> list[int] | None:
    doms = [var.init for var in comp.vars]
    if any(not clause for clause in comp.clauses):
        return None  # a rule false whatever the choices
    if not propagate(doms, list(range(len(doms))), comp.var_clauses):
        return None
    return doms


def _search(doms: list[int], supported: list[int], var_clauses: list[list[Clause]]) -> list[int] | None:
    best, best_size = -1, 1 << 30
    for var, dom in enumerate(doms):
        if dom & (dom - 1):
            size = dom.bit_count()
            if size < best_size:
                best, best_size = var, size
    if best < 0:
        return doms
    dom = doms[best]
    fresh = dom & ~supported[best]
    for part in (fresh, dom & ~fresh):
        while part:
            bit = part & -part
            part ^= bit
            trial = doms.copy()
            trial[best] = bit
            if propagate(trial, [best], var_clauses):
                found = _search(trial, supported, var_clauses)
                if found is not None:
                    return found
    return None


def _absorb(
    comp: Compiled,
    bits: list[int] | tuple[int, ...],
    free: list[int],
    doms: list[int],
    supported: list[int],
    remember: bool = True,
) -> None:
    """Mark a solution's values (one bit per option) and all its valid single-option flips as supported."""
    for var, bit in enumerate(bits):
        supported[var] |= bit
    for var in free:
        open_values = doms[var] & ~supported[var]
        if not open_values:
            continue
        for mask, others in comp.flips[var]:
            for other, other_mask in others:
                if bits[other] & other_mask:
                    break
            else:
                open_values &= mask
                if not open_values:
                    break
        supported[var] |= open_values
    if remember:
        comp.pool.append(tuple(bits))


def exact_domains(comp: Compiled, fixed: dict[int, int]) -> list[int]:
    """Masks of supported values per option given fixed choices (var → value index); all 0 if none."""
    n = len(comp.vars)
    if comp.root is None:
        return [0] * n
    doms = comp.root.copy()
    for var, index in fixed.items():
        doms[var] &= 1 << index
        if not doms[var]:
            return [0] * n
    if not propagate(doms, list(fixed), comp.var_clauses):
        return [0] * n
    supported = [0] * n
    free = [var for var in range(n) if var not in fixed]
    fixed_items = [(var, 1 << index) for var, index in fixed.items()]
    for pooled in list(comp.pool):
        if all(pooled[var] == bit for var, bit in fixed_items):
            _absorb(comp, pooled, free, doms, supported, remember=False)
            if all(doms[var] == supported[var] for var in free):
                break
    for var in range(n):
        while missing := doms[var] & ~supported[var]:
            bit = missing & -missing
            trial = doms.copy()
            trial[var] = bit
            found = None
            if propagate(trial, [var], comp.var_clauses):
                found = _search(trial, supported, comp.var_clauses)
            if found is not None:
                _absorb(comp, found, free, doms, supported)
                continue
            doms[var] &= ~bit
            if not doms[var] or not propagate(doms, [var], comp.var_clauses):
                return [0] * n
    return supported
