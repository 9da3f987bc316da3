"""Taxonomy configuration: the built-in tree of the dataset, or one read from an edge-list file."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from edgesim.config_model import ConfigModel, ConfigPath


class TaxonomyConfig(ConfigModel):
    """The ``taxonomy:`` section of a scenario.

    ``builtin`` is the CIFAR-100 superclass table for CIFAR-100 and the WordNet
    tree for Tiny ImageNet; ``edgelist`` reads ``parent child`` lines from ``path``.
    """

    kind: Literal["builtin", "edgelist"] = "builtin"
    path: ConfigPath | None = Field(None, description="edge-list file, relative to the scenario's folder; required "
                                                       "for kind edgelist, not allowed otherwise")

    @model_validator(mode="after")
    def _check_path(self) -> TaxonomyConfig:
        if self.kind == "edgelist" and not self.path:
            raise ValueError("path is required for kind edgelist (a file of 'parent child' lines)")
        if self.kind == "builtin" and self.path is not None:
            raise ValueError("path is only used with kind edgelist; the builtin taxonomy has no file")
        return self
