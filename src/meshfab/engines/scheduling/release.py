"""Order release: which of a factory's lines its schedule takes now, and which wait for a later one.

A factory with weeks of accepted work does not need a minute-by-minute plan for the last of it: the floor
runs only what is released, and a plan for work three weeks out is redone many times before it starts.
Scheduling it anyway makes every solve, every stored schedule and every released work order grow with the
backlog (on the twin's 100,000-order month, a factory held up to four weeks of work). So, as workload
control does on a shop floor, the schedule takes:

* every line due within the release window (its lateness must be judged now), and then
* further lines in order of due time while a workcenter they need still has free minutes in the window,
  so that no machine idles while work waits;

and the rest waits. A waiting line is still promised and holds its capacity reservation: the network
re-plan watches it, and the factory's next schedule takes it once the window reaches it.
"""

from __future__ import annotations

from collections.abc import Sequence

from .lots import LineRequest
from .problem import Interval, Workcenter


def release(
    lines: Sequence[LineRequest],
    workcenters: Sequence[Workcenter],
    calendar: tuple[Interval, ...] | None,
    window: int,
) -> tuple[list[LineRequest], list[LineRequest]]:
    """The lines to schedule now and the lines that wait, each in the order given.

    ``window`` is in minutes from the origin; ``calendar`` the factory's working intervals (``None``: always
    open). A step loads what its first mode names, for its set-up plus run minutes: one workcenter (its
    machine count times its working minutes in the window, as the engine reads a mode that names a
    workcenter), or a capability (every workcenter that has it, their minutes scaled by efficiency). Lines
    without a due time come last. Started work is not counted: the window is days, a started lot hours.
    """
    if window < 0:
        raise ValueError(f"release window must not be negative, got {window}")
    free: dict[str, float] = {}
    for wc in workcenters:
        minutes = wc.count * _open_minutes(wc.calendar if wc.calendar is not None else calendar, window)
        free[wc.id] = free.get(wc.id, 0.0) + minutes
        if wc.capability != wc.id:
            free[wc.capability] = free.get(wc.capability, 0.0) + minutes * wc.efficiency
    taken: list[LineRequest] = []
    waiting: list[LineRequest] = []
    for line in sorted(lines, key=lambda x: (x.due is None, x.due or 0, x.id)):
        load = _load(line)
        due_now = line.due is not None and line.due <= window
        if due_now or any(free.get(resource, 0.0) > 0 for resource in load):
            taken.append(line)
            for resource, minutes in load.items():
                free[resource] = free.get(resource, 0.0) - minutes
        else:
            waiting.append(line)
    order = {line.id: i for i, line in enumerate(lines)}
    return sorted(taken, key=lambda x: order[x.id]), sorted(waiting, key=lambda x: order[x.id])


def _load(line: LineRequest) -> dict[str, float]:
    load: dict[str, float] = {}
    for step in line.route:
        if step.modes:
            mode = step.modes[0]
            load[mode.resource] = load.get(mode.resource, 0.0) + mode.setup_minutes + mode.run_minutes * line.quantity
    return load


def _open_minutes(calendar: tuple[Interval, ...] | None, window: int) -> int:
    if calendar is None:
        return window
    return sum(max(0, min(end, window) - max(start, 0)) for start, end in calendar if start < window)
