"""A workcenter with more machines than work: the spare machines stay idle, with changeovers in the model.

Regression: the changeover circuit of a machine that received none of its candidate operations had no way to
close, which made every such factory's schedule infeasible.
"""

from __future__ import annotations

from meshfab.engines import scheduling as sch


def lot(i: int, family: str, resource: str = "n", minutes: int = 30) -> sch.Lot:
    return sch.Lot(
        f"L{i}", family, (sch.Operation(f"L{i}/0", (sch.Mode(resource, minutes),)),), (sch.LinePart(f"line{i}", 1),)
    )


def test_spare_machines_may_stay_idle_when_changeovers_exist() -> None:
    problem = sch.ScheduleProblem(
        workcenters=(sch.Workcenter("n", "n", 3),), lots=(lot(1, "A"), lot(2, "B")), default_setup=10
    )
    result = sch.solve(problem, time_limit=2)
    assert result.status is sch.SolveStatus.OPTIMAL
    assert result.objective is not None and result.objective.makespan == 30
    assert sum(1 for ops in result.timelines.values() if not ops) == 1


def test_one_machine_batches_families_to_save_changeovers() -> None:
    problem = sch.ScheduleProblem(
        workcenters=(sch.Workcenter("n", "n", 1),),
        lots=tuple(lot(i, f) for i, f in enumerate("ABAB")),
        default_setup=10,
    )
    result = sch.solve(problem, time_limit=2)
    assert result.status is sch.SolveStatus.OPTIMAL
    assert result.objective is not None and result.objective.setup_minutes == 10
