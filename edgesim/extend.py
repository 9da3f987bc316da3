"""Everything a plug-in needs, in one import: the registries' decorators and the bases they take.

- ``register_algorithm(config_cls, strategy_cls)``: a new ``algorithm.name``; the strategy implements
  ``Strategy`` (six methods) over the frozen types ``Task``, ``TaskCost``, ``TaskKind``, ``Aggregation``,
  ``Decision``.
- ``@register_protocol``: a new ``server.protocol`` kind (a ``ProtocolConfig`` whose ``server`` runs on the
  clock; see ``edgesim.sim.protocols``).
- ``@register_selector``: a new ``server.selection`` kind (a ``Selector``).
- ``@register_distribution`` / ``@register_straggler``: a new kind for every distribution key (profiles,
  failure timings) / for ``fleet.stragglers``.
- ``register_model(name, builder)``: a new ``model.name``.

Register in a module that is imported wherever scenarios are read; for sweeps on worker processes or Ray,
name that module as an entry point of the group ``edgesim.plugins`` in the plug-in package's metadata, and
every edgesim process loads it (``edgesim.registry``).
"""

from edgesim.distributions import BaseDistribution, register_distribution
from edgesim.fl.config import AlgorithmConfig, LocalSGDConfig
from edgesim.fl.registry import register_algorithm
from edgesim.fl.strategy import AlgorithmSetup, Strategy
from edgesim.models.registry import register_model
from edgesim.sim.protocols import Owner, ProtocolConfig, ProtocolContext, register_protocol
from edgesim.sim.selection import Selector, register_selector
from edgesim.sim.stragglers import Straggler, register_straggler
from edgesim.work import Aggregation, Arrival, Decision, Outcome, Task, TaskCost, TaskKind

__all__ = ["Aggregation", "AlgorithmConfig", "AlgorithmSetup", "Arrival", "BaseDistribution", "Decision",
           "LocalSGDConfig", "Outcome", "Owner", "ProtocolConfig", "ProtocolContext", "Selector", "Strategy",
           "Straggler", "Task", "TaskCost", "TaskKind", "register_algorithm", "register_distribution",
           "register_model", "register_protocol", "register_selector", "register_straggler"]
