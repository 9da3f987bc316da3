"""The ``model:`` block of a scenario."""

from __future__ import annotations

from pydantic import Field

from edgesim.config_model import ConfigModel


class ModelConfig(ConfigModel):
    """Which network the fleet trains. ``name`` is checked against the registry."""

    name: str = "small_cnn"
    width: float = Field(default=1, gt=0, description="multiplier on every channel and hidden-unit count "
                                                              "(rounded, at least 1)")
