"""The ``trace:`` block: ``use`` names at least one part, and each part once."""

import pytest
from pydantic import TypeAdapter, ValidationError

from edgesim.errors import InputError
from edgesim.scenario import validate
from edgesim.traces.config import FedScaleTraceConfig, OpenTraceConfig, TraceConfig

BLOCKS = [{"path": "trace"}, {"kind": "fedscale", "behave_trace": "behave.pkl"}]


@pytest.mark.parametrize("block", BLOCKS)
@pytest.mark.parametrize("use, message", [
    ([], r"use\n  List should have at least 1 item"),
    (["availability", "devices", "availability"], r"use\n  Value error, lists availability twice \(name each"),
])
def test_use_names_at_least_one_part_and_none_twice(block, use, message):
    with pytest.raises(ValidationError, match=message):
        TypeAdapter(TraceConfig).validate_python({**block, "use": use})


def test_a_scenario_names_the_part_listed_twice():
    group = {"name": "tr", "profile": "phone_low_end", "network": "lte", "trace": {**BLOCKS[0], "use": ["devices"] * 2}}
    with pytest.raises(InputError) as caught:
        validate({"name": "t", "fleet": {"groups": [group]}, "dataset": {"name": "synthetic"},
                  "server": {"clients_per_round": 2}})
    assert caught.value.problems == ["fleet.groups[0].trace.use: lists devices twice (name each part once)"]


@pytest.mark.parametrize("block, kind", [(BLOCKS[0], OpenTraceConfig), (BLOCKS[1], FedScaleTraceConfig)])
def test_use_left_out_takes_all_the_trace_holds(block, kind):
    config = TypeAdapter(TraceConfig).validate_python(block)
    assert isinstance(config, kind) and config.parts({"devices", "capacity"}) == {"devices", "capacity"}
    config = TypeAdapter(TraceConfig).validate_python({**block, "use": ["capacity", "devices"]})
    assert config.parts({"devices", "availability", "capacity"}) == {"devices", "capacity"}
