"""The ``trace:`` block of a fleet group: which trace, in which format, and what the group takes from it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from edgesim.config_model import ConfigModel, ConfigPath
from edgesim.traces.fedscale import DEFAULT_REFERENCE_GFLOP

Part = Literal["devices", "availability", "capacity"]
"""``devices``: the per-device figures (compute, memory, bandwidth, latency); ``availability``: when each device
is available; ``capacity``: compute and bandwidth changing over time."""


class _TraceConfig(ConfigModel):
    use: list[Part] | None = Field(None, min_length=1, description="what the group takes from the trace, each part "
                                   "once; null: all it holds")

    @field_validator("use")
    @classmethod
    def _each_part_once(cls, use: list[str] | None) -> list[str] | None:
        repeated = [part for i, part in enumerate(use or ()) if part in use[:i]]
        if repeated:
            raise ValueError(f"lists {repeated[0]} twice (name each part once)")
        return use

    def parts(self, held: set[str]) -> set[str]:
        """The parts the group takes, given those the trace ``held``."""
        return set(self.use) if self.use is not None else held


class OpenTraceConfig(_TraceConfig):
    kind: Literal["edgesim"] = "edgesim"
    path: ConfigPath = Field(description="a folder of devices / availability / capacity tables, CSV or Parquet")


class FedScaleTraceConfig(_TraceConfig):
    kind: Literal["fedscale"]
    device_capacity: ConfigPath | None = Field(None, description="FedScale's client_device_capacity pickle")
    behave_trace: ConfigPath | None = Field(None, description="FedScale's client_behave_trace pickle")
    reference_gflop: float = Field(DEFAULT_REFERENCE_GFLOP, gt=0, description="GFLOP per inference of the model "
                                   "behind the trace's computation figures (edgesim.traces.fedscale)")

    @model_validator(mode="after")
    def _a_file(self):
        if self.device_capacity is None and self.behave_trace is None:
            raise ValueError("give device_capacity, behave_trace or both")
        return self


def _open_by_default(value):
    """A ``trace:`` block without a ``kind`` is edgesim's open format."""
    return {"kind": "edgesim", **value} if isinstance(value, dict) and "kind" not in value else value


TraceConfig = Annotated[OpenTraceConfig | FedScaleTraceConfig, Field(discriminator="kind"),
                        BeforeValidator(_open_by_default)]
