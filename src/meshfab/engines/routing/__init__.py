"""Network routing engine: pure functions from a :class:`RoutingProblem` to a :class:`RoutingResult`."""

from meshfab.engines.routing.problem import (
    CostSplit,
    Factory,
    FactoryStatus,
    Lane,
    Line,
    Operation,
    RoutingInputError,
    RoutingProblem,
    RoutingResult,
    RoutingStatus,
    Weights,
)
from meshfab.engines.routing.solve import solve

__all__ = [
    "CostSplit",
    "Factory",
    "FactoryStatus",
    "Lane",
    "Line",
    "Operation",
    "RoutingInputError",
    "RoutingProblem",
    "RoutingResult",
    "RoutingStatus",
    "Weights",
    "solve",
]
