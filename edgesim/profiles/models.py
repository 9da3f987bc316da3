"""Typed hardware and network profiles (built-in ones ship as YAML beside this file)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from edgesim.distributions import Distribution


class DeviceProfile(BaseModel):
    """What the simulator needs to know about one kind of device."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    train_gflops: float = Field(gt=0, description="sustained fp32 training throughput, GFLOP/s")
    ram_mb: float = Field(gt=0, description="physical memory, MB")
    power_idle_w: float = Field(ge=0)
    power_active_w: float = Field(ge=0)
    source: str = Field(description="where the figures come from")


class NetworkProfile(BaseModel):
    """A device's access network: bandwidth sampled once per device, latency per transfer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    down_mbps: Distribution = Field(description="device download bandwidth, Mbit/s")
    up_mbps: Distribution = Field(description="device upload bandwidth, Mbit/s")
    latency_ms: Distribution = Field(description="one-way setup latency per transfer, ms")
    source: str
