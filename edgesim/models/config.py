"""The ``model:`` block of a scenario."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ModelConfig(BaseModel):
    """Which network the fleet trains. ``name`` is checked against the registry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "small_cnn"
    width: int = Field(default=1, ge=1, description="channel multiplier for the small CNN")
