"""The ``algorithm:`` blocks' shared keys: the base every method's config extends, and local SGD's settings."""

from __future__ import annotations

from pydantic import Field, model_validator

from edgesim.config_model import ConfigModel
from edgesim.fl.lr_schedule import ConstantLr, LrSchedule
from edgesim.fl.trainer import OptimizerKind, OptimizerSettings


class AlgorithmConfig(ConfigModel):
    """Base of every ``algorithm:`` block; subclasses add ``name: Literal[...]`` and hyper-parameters."""

    def caveats(self) -> list[str]:
        """What a reader of this run's results must know about these settings (printed as warnings)."""
        return []


class LocalSGDConfig(AlgorithmConfig):
    """Hyper-parameters of local training on the clients: a fresh optimiser every round, whose learning
    rate in round ``r`` is ``lr * lr_schedule.factor(r)``."""

    local_epochs: int = Field(default=1, ge=1)
    batch_size: int = Field(default=10, ge=1)
    lr: float = Field(default=0.05, gt=0)
    momentum: float = Field(default=0.0, ge=0, lt=1, description="SGD's momentum (a default is unused by Adam)")
    weight_decay: float = Field(default=0.0, ge=0)
    optimizer: OptimizerKind = "sgd"
    lr_schedule: LrSchedule = ConstantLr()

    @model_validator(mode="after")
    def _momentum_is_sgd_only(self):
        """Refuses a momentum other than the method's default beside Adam. The default itself passes: a run's
        resolved ``scenario.yaml`` writes every key, and must validate again on resume."""
        if self.optimizer == "adam" and self.momentum != type(self).model_fields["momentum"].default:
            raise ValueError("momentum is SGD's; Adam keeps its own moments (betas 0.9, 0.999): remove momentum "
                             "or use optimizer: sgd")
        return self

    def optimizer_settings(self) -> OptimizerSettings:
        return OptimizerSettings(self.lr, self.momentum, self.weight_decay, self.optimizer)
