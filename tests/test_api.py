"""The Python API: simulate() gives the tables ``edgesim run`` writes, and the README's example runs."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure

import edgesim
from edgesim.errors import InputError
from edgesim.plots.data import read_events, read_metrics, read_summary
from edgesim.runner import run_scenario
from edgesim.scenario import load_scenario
from edgesim.scenario.overrides import parse_assignment
from run_inputs import data_edits, mnist_available

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "scenarios" / "smoke.yaml"
DATA = dict(parse_assignment(edit) for edit in data_edits())
"""Overrides that keep the smoke scenario runnable without MNIST."""


@pytest.mark.skipif(not mnist_available(), reason="the README's example trains on MNIST (EDGESIM_DATA)")
def test_the_readme_example_runs(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- the tests run this block \(tests/test_api.py\) -->\n```python\n(.*?)```", readme,
                      re.S).group(1)
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(Figure, "savefig", lambda self, path, **kw: Path(tmp_path / path).write_bytes(b"png"))
    exec(compile(block, "README.md", "exec"), {})
    assert (tmp_path / "accuracy.png").is_file()


def test_simulate_gives_the_same_tables_as_a_run_directory(tmp_path):
    result = edgesim.simulate(SMOKE, overrides={**DATA, "stop.max_rounds": 2}, seed=5)
    assert result.run_dir is None and result.status == "completed" and result.summary["rounds"] == 2
    run_scenario(load_scenario(SMOKE, [*data_edits(), "stop.max_rounds=2"], seed=5), tmp_path / "run", show_progress=False)
    pd.testing.assert_frame_equal(result.metrics, read_metrics(tmp_path / "run"))
    pd.testing.assert_frame_equal(result.events, read_events(tmp_path / "run"))
    assert _untimed(result.summary) == _untimed(read_summary(tmp_path / "run"))


def _untimed(summary: dict) -> dict:
    """A summary without its host timings, which differ between two runs of one scenario."""
    return {k: v for k, v in summary.items() if k not in ("wall_time_s", "checkpoints")}


def test_a_mapping_or_a_scenario_runs_and_out_keeps_the_run_directory(tmp_path):
    scenario = load_scenario(SMOKE, [*data_edits(), "stop.max_rounds=2"])
    kept = edgesim.simulate(scenario, out=tmp_path / "kept")
    assert kept.run_dir == tmp_path / "kept" and (kept.run_dir / "summary.json").is_file()
    mapping = edgesim.simulate(scenario.model_dump(mode="json", by_alias=True))
    pd.testing.assert_frame_equal(kept.metrics, mapping.metrics)
    assert all(isinstance(f, Figure) for f in (kept.accuracy_figure(), kept.staleness_figure(),
                                              kept.timeline_figure()))


def test_a_bad_scenario_raises_input_error_naming_the_key():
    with pytest.raises(InputError) as caught:
        edgesim.simulate(SMOKE, overrides={"server.clients_per_round": 0})
    assert any("server.clients_per_round" in problem for problem in caught.value.problems)


def test_unknown_attributes_of_the_package_are_attribute_errors():
    with pytest.raises(AttributeError):
        edgesim.no_such_thing
