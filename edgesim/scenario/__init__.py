"""Scenarios: the typed schema, loading with edits, validation and sweep expansion."""

from edgesim.scenario.loading import (Variant, apply_edits, expand_sweep, load_scenario, read_raw, scenario_text,
                                      shadowed_assignments, validate)
from edgesim.scenario.schema import Scenario

__all__ = ["Scenario", "Variant", "apply_edits", "expand_sweep", "load_scenario", "read_raw", "scenario_text",
           "shadowed_assignments", "validate"]
