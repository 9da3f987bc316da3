"""Model zoo: configs, builders with seeded initialisation, and cost counting."""

from edgesim.models.config import ModelConfig
from edgesim.models.registry import build_model, model_names, parameter_count

__all__ = ["ModelConfig", "build_model", "model_names", "parameter_count"]
