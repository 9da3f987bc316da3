"""Dataset configuration: which data to load, where it lives, and how to split it over clients."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import Field, PositiveInt, ValidationInfo, field_validator, model_validator

from edgesim.config_model import ConfigModel, ConfigPath
from edgesim.taxonomy.config import TaxonomyConfig

IMAGE_DATASETS = ("cifar100", "tiny_imagenet")
MAX_SIDE = 4096
"""The largest image side (and channel count) a scenario may ask for."""
PixelScale = Literal["standardised", "raw"]
"""How pixels become inputs: standardised per channel, or raw values 0-255 (WKAFL's code; ALGORITHMS.md §2.7)."""
_IMAGE_ONLY = f"{' and '.join(IMAGE_DATASETS)} only (an error for other datasets): "


class IidPartition(ConfigModel):
    """Shuffle the train set and split it evenly across clients."""

    kind: Literal["iid"] = "iid"


class ShardsPartition(ConfigModel):
    """Each client holds ``classes_per_client`` classes x ``samples_per_class`` samples (MPT-FL: 2 x 20)."""

    kind: Literal["shards"] = "shards"
    classes_per_client: PositiveInt = 2
    samples_per_class: PositiveInt = 20


class DirichletPartition(ConfigModel):
    """Label skew: each class is split over clients by Dirichlet(alpha) proportions."""

    kind: Literal["dirichlet"] = "dirichlet"
    alpha: float = Field(gt=0, description="concentration; small values give few classes per client")
    min_samples: int = Field(1, ge=0, description="every client gets at least this many samples")


class AkaflPartition(ConfigModel):
    """AKAFL-style: each client independently draws a few classes and a random number of samples.

    A client draws its class count uniformly from ``classes``, that many distinct
    classes, and ``n ~ U{samples_min..samples_max}`` samples split among them by
    random proportions (each class at least one). Clients may share samples.
    """

    kind: Literal["akafl"] = "akafl"
    classes: tuple[PositiveInt, ...] = Field((1, 2), min_length=1)
    samples_min: PositiveInt = 10
    samples_max: PositiveInt = 49

    @model_validator(mode="after")
    def _check_ranges(self) -> AkaflPartition:
        if self.samples_max < self.samples_min:
            raise ValueError(f"samples_max ({self.samples_max}) is below samples_min ({self.samples_min})")
        if self.samples_min < max(self.classes):
            raise ValueError(
                f"samples_min ({self.samples_min}) must be at least the largest class count "
                f"in classes ({max(self.classes)}), so every drawn class gets a sample"
            )
        return self


PartitionConfig = Annotated[
    Union[IidPartition, ShardsPartition, DirichletPartition, AkaflPartition],
    Field(discriminator="kind"),
]


class SyntheticConfig(ConfigModel):
    """A learnable stand-in for MNIST: one smooth random prototype image per class plus Gaussian noise."""

    train_size: PositiveInt = 2000
    test_size: PositiveInt = 500
    num_classes: int = Field(10, ge=2)
    shape: tuple[Annotated[int, Field(ge=1, le=MAX_SIDE)], Annotated[int, Field(ge=1, le=MAX_SIDE)],
                 Annotated[int, Field(ge=1, le=MAX_SIDE)]] = (1, 28, 28)
    noise: float = Field(1.0, ge=0, description="per-pixel noise std; prototypes have unit pixel std")


class DatasetConfig(ConfigModel):
    """The ``dataset:`` section of a scenario."""

    name: Literal["mnist", "synthetic", "cifar100", "tiny_imagenet"] = "mnist"
    data_dir: ConfigPath | None = Field(None, description="default: $EDGESIM_DATA, else ~/.cache/edgesim/data")
    download: bool = True
    partition: PartitionConfig = IidPartition()
    synthetic: SyntheticConfig = SyntheticConfig()
    test_subset: PositiveInt | None = Field(
        None, description="in-run evaluation uses this many fixed random test samples; final evaluation uses all"
    )
    validation_size: int = Field(0, ge=0, description="server-held validation samples carved from the train set")
    pixel_scale: PixelScale = Field(
        "standardised", description="image inputs: 'standardised' (per-channel mean 0, std 1) or 'raw' pixel "
        "values 0-255, the scale of WKAFL's code and of its learning rates (ALGORITHMS.md §2.7); not for synthetic")
    taxonomy: TaxonomyConfig = Field(
        TaxonomyConfig(), description="the class hierarchy of hierarchical methods: built in (cifar100, "
                                      "tiny_imagenet via WordNet) or an edge-list file")
    image_size: Annotated[int, Field(ge=1, le=MAX_SIDE)] | None = Field(
        None, description=_IMAGE_ONLY + "resize the square images to this side (PIL bilinear); "
        "default: native, 32 for cifar100 and 64 for tiny_imagenet"
    )
    train_per_class: PositiveInt | None = Field(
        None, description=_IMAGE_ONLY + "keep only the first n train images of each class, in file order; default: all"
    )
    test_per_class: PositiveInt | None = Field(
        None, description=_IMAGE_ONLY + "keep only the first n test images of each class, in file order; default: all"
    )

    @field_validator("image_size", "train_per_class", "test_per_class")
    @classmethod
    def _image_datasets_only(cls, value: int | None, info: ValidationInfo) -> int | None:
        name = info.data.get("name")  # absent when the name itself was invalid
        if value is not None and name is not None and name not in IMAGE_DATASETS:
            raise ValueError(f"applies only to the image datasets ({', '.join(IMAGE_DATASETS)}), not to {name}")
        return value

    @model_validator(mode="after")
    def _pixels_only(self) -> DatasetConfig:
        if self.pixel_scale == "raw" and self.name == "synthetic":
            raise ValueError("pixel_scale: synthetic data has no pixels; 'raw' applies to mnist, cifar100 and "
                             "tiny_imagenet")
        return self


def resolve_data_dir(config: DatasetConfig) -> Path:
    """Where dataset files live: ``config.data_dir``, else ``$EDGESIM_DATA``, else ``~/.cache/edgesim/data``."""
    chosen = config.data_dir or os.environ.get("EDGESIM_DATA") or "~/.cache/edgesim/data"
    return Path(chosen).expanduser()
