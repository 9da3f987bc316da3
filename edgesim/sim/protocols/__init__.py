"""The protocols a scenario can choose with ``server.protocol``: one module each, found by looking.

Every module in this package but ``base`` and ``cycles`` defines one protocol: a ``ProtocolConfig``
subclass registered with ``register_protocol`` (its ``kind``) and the server it runs. Importing the
package imports them all, so a new protocol is one new file here (and its test).
"""

from __future__ import annotations

import importlib
import pkgutil

from edgesim.sim.protocols.base import (
    PROTOCOLS,
    Owner,
    ProtocolConfig,
    ProtocolContext,
    RoundRules,
    Server,
    register_protocol,
    task_cost,
)

_SHARED = {"base", "cycles"}

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in _SHARED:
        importlib.import_module(f"{__name__}.{_module.name}")

ProtocolField = PROTOCOLS.field
"""The pydantic type of ``server.protocol``."""

__all__ = ["PROTOCOLS", "Owner", "ProtocolConfig", "ProtocolContext", "ProtocolField", "RoundRules", "Server",
           "register_protocol", "task_cost"]
