"""Typed hardware and network profiles (built-in ones ship as YAML beside this file)."""

from __future__ import annotations

from pydantic import Field, model_validator

from edgesim.config_model import ConfigModel
from edgesim.distributions import NonNegativeDistribution, PositiveDistribution


class DeviceProfile(ConfigModel):
    """What the simulator needs to know about one kind of device."""

    description: str = ""
    train_gflops: float = Field(gt=0, description="sustained fp32 training throughput, GFLOP/s")
    ram_mb: float = Field(gt=0, description="physical memory, MB")
    power_idle_w: float = Field(ge=0, description="whole-device power awake and idle, W")
    power_active_w: float = Field(ge=0, description="whole-device power with every core training, W")
    battery_wh: float | None = Field(None, gt=0, description="battery energy, Wh; null: mains-powered")
    source: str = Field(description="where the figures come from")

    @model_validator(mode="after")
    def _training_draws_at_least_idle(self):
        if self.power_active_w < self.power_idle_w:
            raise ValueError(f"power_active_w ({self.power_active_w:g} W) is below power_idle_w "
                             f"({self.power_idle_w:g} W): a device training draws at least its idle power")
        return self


class NetworkProfile(ConfigModel):
    """A device's access network: bandwidth sampled once per device, latency per transfer."""

    description: str = ""
    down_mbps: PositiveDistribution = Field(description="device download bandwidth, Mbit/s")
    up_mbps: PositiveDistribution = Field(description="device upload bandwidth, Mbit/s")
    latency_ms: NonNegativeDistribution = Field(description="one-way setup latency per transfer, ms")
    radio_w: float | None = Field(None, ge=0, description="power a transfer adds over the device's idle power, W; "
                                  "null (the default): a transfer draws only the idle power")
    source: str
