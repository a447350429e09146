"""The digital twin: SimPy drives the platform's own services through a simulated clock.

Nothing here quotes, places, re-plans or schedules by itself; the simulation decides *when* buyers arrive,
how long the shop floor really takes and when carriers scan, and calls the services the API calls.
"""

from meshfab.sim.scenario import Scenario, load_scenario

__all__ = ["Scenario", "load_scenario"]
