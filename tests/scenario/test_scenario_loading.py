"""Scenario files: every kind of bad input gives one message per problem, naming its YAML path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from edgesim.errors import InputError
from edgesim.scenario import (Scenario, apply_edits, expand_sweep, load_scenario, read_raw, scenario_text,
                              shadowed_assignments)
from edgesim.scenario.overrides import parse_assignment, set_dotted, split_key
from edgesim.units import parse_duration

GOOD = """
name: tiny
fleet:
  groups:
    - {name: pi, profile: raspberry_pi_4, count: 3, network: wifi5}
dataset: {name: synthetic}
server: {clients_per_round: 2}
"""


def write(tmp_path, text: str):
    path = tmp_path / "scenario.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def problems(tmp_path, text: str, edits=()) -> list[str]:
    with pytest.raises(InputError) as caught:
        load_scenario(write(tmp_path, text), edits)
    return caught.value.problems


def test_good_scenario_fills_defaults(tmp_path):
    scenario = load_scenario(write(tmp_path, GOOD))
    assert scenario.name == "tiny"
    assert scenario.algorithm.name == "fedavg"
    assert scenario.stop.horizon_s == 7 * 86400
    assert scenario.device_count == 3


def test_missing_file_and_yaml_syntax(tmp_path):
    with pytest.raises(InputError, match="scenario file not found"):
        read_raw(tmp_path / "nope.yaml")
    found = problems(tmp_path, "fleet: {groups: [\n")
    assert len(found) == 1 and "YAML syntax error" in found[0] and "scenario.yaml:" in found[0]


def test_unknown_key_lists_allowed_keys(tmp_path):
    [message] = problems(tmp_path, GOOD + "server2: {}\n")
    assert message.startswith("server2: unknown key; allowed keys: name, description, seed")
    [message] = problems(tmp_path, GOOD.replace("count: 3", "count: 3, colour: red"))
    assert message.startswith("fleet.groups[0].colour: unknown key; allowed keys: name, profile, count")


def test_nested_union_paths_drop_pydantic_tags(tmp_path):
    text = GOOD.replace("dataset: {name: synthetic}", "dataset: {name: synthetic, partition: {kind: shards, samples_per_class: 0}}")
    [message] = problems(tmp_path, text)
    assert message.startswith("dataset.partition.samples_per_class: Input should be greater than 0")


def test_an_unknown_union_tag_is_named_briefly_before_the_allowed_ones(tmp_path):
    for tag, shown in (("lognormall", "'lognormall'"), ("p" * 5000, "'" + "p" * 78 + "…")):
        [message] = problems(tmp_path, GOOD.replace("dataset: {name: synthetic}",
                                                    f"dataset: {{name: synthetic, partition: {{kind: {tag}}}}}"))
        assert message == (f"dataset.partition.kind: {shown} is not one of 'iid', 'shards', 'dirichlet', "
                           "'akafl'")


def test_wrong_types_and_impossible_values(tmp_path):
    text = GOOD + textwrap.dedent("""
        stop: {target_accuracy: 1.5, horizon_s: soon}
        links: {router: {up_mbps: -5}}
    """)
    found = problems(tmp_path, text)
    assert any(p.startswith("stop.target_accuracy: Input should be less than or equal to 1") for p in found)
    assert any(p.startswith("stop.horizon_s: 'soon' is not a duration") for p in found)
    assert any(p.startswith("links.router.up_mbps: Input should be greater than 0") for p in found)


def test_allowed_values_are_named(tmp_path):
    [message] = problems(tmp_path, GOOD.replace("dataset: {name: synthetic}", "dataset: {name: cifar}"))
    assert message.startswith("dataset.name:") and "'mnist'" in message and "'synthetic'" in message
    found = problems(tmp_path, GOOD + "algorithm: {name: fedsgd}\n")
    assert "'fedavg'" in found[0]


def test_cross_references(tmp_path):
    text = GOOD.replace("raspberry_pi_4", "raspberry_pi_9").replace("wifi5", "wifi9")
    text = text.replace("clients_per_round: 2", "clients_per_round: 4")
    found = problems(tmp_path, text)
    assert any(p.startswith("fleet.groups[0].profile: unknown device profile 'raspberry_pi_9'; known:") and
               "raspberry_pi_4" in p for p in found)
    assert any(p.startswith("fleet.groups[0].network: unknown network profile 'wifi9'") for p in found)
    assert any(p.startswith("server.clients_per_round: 4 is more than the fleet's 3 devices") for p in found)


def test_missing_dataset_files(tmp_path):
    text = GOOD.replace("dataset: {name: synthetic}", f"dataset: {{name: mnist, download: false, data_dir: {tmp_path}}}")
    [message] = problems(tmp_path, text)
    assert message.startswith("dataset.data_dir: MNIST files not found")


def test_scenario_defined_profiles(tmp_path):
    text = GOOD.replace("raspberry_pi_4", "my_board") + textwrap.dedent("""
        profiles:
          devices:
            my_board: {train_gflops: 3, ram_mb: 512, power_idle_w: 1, power_active_w: 2, source: measured}
    """)
    scenario = load_scenario(write(tmp_path, text))
    assert scenario.profiles.devices["my_board"].train_gflops == 3


def test_set_overrides_and_seed(tmp_path):
    scenario = load_scenario(write(tmp_path, GOOD), ["fleet.groups.0.count=5", "stop.horizon_s=2h", "seed=9"])
    assert scenario.device_count == 5 and scenario.stop.horizon_s == 7200 and scenario.seed == 9
    with pytest.raises(InputError, match="expected dotted.key=value"):
        parse_assignment("fleet.groups")
    with pytest.raises(InputError, match="index '4' is not in a list of 1 items"):
        set_dotted({"a": [1]}, "a.4", 2)
    assert set_dotted({}, "a.b", {"c": 1}) == {"a": {"b": {"c": 1}}}
    for bad in ("a..b", "a.", ".a", "a[b", "a[]"):
        with pytest.raises(InputError, match="not a dotted key"):
            set_dotted({}, bad, 1)
    found = problems(tmp_path, GOOD, ["fleet.groups.0.count=many"])
    assert found[0].startswith("fleet.groups[0].count: Input should be a valid integer")


@pytest.mark.parametrize("text, seconds", [(90, 90), ("45s", 45), ("30m", 1800), ("1.5h", 5400), ("7d", 604800)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


def test_sweep_expansion(tmp_path):
    text = GOOD + textwrap.dedent("""
        sweep:
          grid:
            fleet.stragglers: [{kind: none}, {kind: lognormal, sigma: 0.5}]
            server.clients_per_round: [1, 2]
          seeds: [1, 2]
    """)
    variants = expand_sweep(read_raw(write(tmp_path, text)))
    assert len(variants) == 8
    assert variants[0].params == {"fleet.stragglers": {"kind": "none"}, "server.clients_per_round": 1, "seed": 1}
    assert variants[-1].scenario.fleet.stragglers.kind == "lognormal" and variants[-1].scenario.seed == 2
    assert all(v.scenario.sweep is None for v in variants)


def test_a_grid_key_with_dots_is_addressed_in_square_brackets(tmp_path):
    assert split_key("sweep.grid[fleet.stragglers]") == ["sweep", "grid", "fleet.stragglers"]
    assert split_key("a[b.c].d.0") == ["a", "b.c", "d", "0"]
    text = GOOD + "sweep: {grid: {fleet.stragglers: [{kind: none}]}}\n"
    raw = set_dotted(read_raw(write(tmp_path, text)), "sweep.grid[fleet.stragglers]",
                     [{"kind": "pareto", "alpha": 1.5}, {"kind": "none"}])
    variants = expand_sweep(raw)
    assert [v.params["fleet.stragglers"]["kind"] for v in variants] == ["pareto", "none"]


def test_sweep_labels_name_each_grid_value_once(tmp_path):
    text = GOOD + "sweep: {grid: {server.clients_per_round: [1, 2]}, labels: {server.clients_per_round: [one, two]}}\n"
    assert [v.labels for v in expand_sweep(read_raw(write(tmp_path, text)))] == [
        {"server.clients_per_round": "one"}, {"server.clients_per_round": "two"}]
    for labels, message in (("{fleet.size: [a]}", "labels for 'fleet.size', which is not a grid key"),
                            ("{server.clients_per_round: [a]}", "1 given for its 2 values"),
                            ("{server.clients_per_round: [a, a]}", "each value needs its own label")):
        bad = GOOD + f"sweep: {{grid: {{server.clients_per_round: [1, 2]}}, labels: {labels}}}\n"
        assert message in problems(tmp_path, bad)[0]


def test_a_grid_value_listed_twice_is_refused(tmp_path):
    text = GOOD + "sweep: {grid: {server.clients_per_round: [2, 2]}}\n"
    assert "lists the value 2 twice (seeds go under sweep.seeds)" in problems(tmp_path, text)[0]
    equal = GOOD + "sweep: {grid: {fleet.memory_fraction: [4, 4.0], fleet.stragglers: [{kind: none}, {kind: none}]}}\n"
    assert "'fleet.memory_fraction' lists the value 4.0 twice" in problems(tmp_path, equal)[0]  # one value, two spellings


def test_a_count_of_seeds_means_seeds_one_to_n(tmp_path):
    variants = expand_sweep(read_raw(write(tmp_path, GOOD + "sweep: {seeds: 3}\n")))
    assert [v.params["seed"] for v in variants] == [1, 2, 3]
    assert problems(tmp_path, GOOD + "sweep: {seeds: 0}\n")[0].startswith("sweep.seeds: a count of seeds must be at least 1")


def test_sweep_variant_errors_name_the_variant(tmp_path):
    text = GOOD + "sweep: {grid: {server.clients_per_round: [2, 9]}}\n"
    with pytest.raises(InputError) as caught:
        expand_sweep(read_raw(write(tmp_path, text)))
    assert caught.value.problems == [
        "sweep variant (server.clients_per_round=9, seed=0): server.clients_per_round: 9 is more than the fleet's 3 devices"
    ]


def test_sweep_cases_bundle_edits(tmp_path):
    text = GOOD + textwrap.dedent("""
        sweep:
          cases:
            small: {server.clients_per_round: 1, stop.max_rounds: 2}
            wide: {server.clients_per_round: 3}
          grid: {seed: [5]}
          seeds: [1, 2]
    """).replace("grid: {seed: [5]}", "grid: {fleet.failures: [{kind: none}]}")
    variants = expand_sweep(read_raw(write(tmp_path, text)))
    assert [(v.params["case"], v.params["seed"]) for v in variants] == [("small", 1), ("small", 2), ("wide", 1), ("wide", 2)]
    assert variants[0].scenario.server.clients_per_round == 1 and variants[0].scenario.stop.max_rounds == 2
    assert variants[2].scenario.server.clients_per_round == 3 and variants[2].scenario.stop.max_rounds is None
    assert list(variants[0].params) == ["case", "fleet.failures", "seed"]


def test_a_key_named_like_its_unions_tag_is_still_located(tmp_path):
    """A windows schedule has a ``windows`` key and the tag ``windows``; the problem is in ``jitter_h``."""
    scenario = GOOD.replace("count: 3, network: wifi5}", "count: 3, network: wifi5, availability: "
                            "{kind: windows, windows: [[1, 3]], jitter_h: 1.0e6}}")
    [message] = problems(tmp_path, scenario)
    assert message.startswith("fleet.groups[0].availability.jitter_h: Input should be less than or equal to 12")


def test_failure_times_take_units_and_trace_devices_must_exist(tmp_path):
    text = GOOD.replace("fleet:\n", "fleet:\n  failures: {kind: random, mtbf_s: {kind: exponential, mean: 6h}, "
                        "mttr_s: 10m}\n")
    assert load_scenario(write(tmp_path, text)).fleet.failures.mtbf_s.mean() == 21600
    trace = GOOD.replace("fleet:\n", "fleet:\n  failures: {kind: trace, outages: [{device: pi-7, at_s: 1h, "
                         "duration_s: 5m}]}\n")
    [message] = problems(tmp_path, trace)
    assert message.startswith("fleet.failures.outages[0].device: no device 'pi-7' in the fleet")


def test_shadowed_assignments_name_the_cases_and_grid_keys_that_replace_a_set():
    data = {"algorithm": {"name": "fedavg"}, "stop": {"max_rounds": 5},
            "sweep": {"cases": {"a": {"algorithm": {"name": "fedavg", "lr": 0.1}},
                                "b": {"algorithm.lr": 0.2, "stop.max_rounds": 9}},
                      "grid": {"server.clients_per_round": [1, 2]}}}
    keys = ["algorithm.lr", "stop.max_rounds", "server.clients_per_round", "dataset.name", "sweep.seeds", "seed"]
    assert shadowed_assignments(data, keys) == {
        "algorithm.lr": ["case a", "case b"],  # a replaces the whole algorithm mapping, b the key itself
        "stop.max_rounds": ["case b"],
        "server.clients_per_round": ["grid server.clients_per_round"],
    }
    assert shadowed_assignments({"algorithm": {}}, ["algorithm.lr"]) == {}  # no sweep: nothing replaces it
    # a case the command line edits at the same key (or above it) was told: it is not named
    told = keys + ["sweep.cases.b[stop.max_rounds]", "sweep.cases.a.algorithm"]
    assert shadowed_assignments(data, told) == {"algorithm.lr": ["case b"],
                                                "server.clients_per_round": ["grid server.clients_per_round"]}


def _shipped_scenarios():
    return sorted((Path(__file__).resolve().parents[2] / "scenarios").rglob("*.yaml"))


@pytest.mark.parametrize("path", _shipped_scenarios(), ids=lambda p: p.name)
def test_every_resolved_variant_reads_back_as_itself(path):
    # A run's scenario.yaml (every key, defaults included) must validate again under the same code: resume and
    # sweep --resume read it back, and a validator that refuses a default it wrote would make runs unresumable.
    data = read_raw(path)
    scenarios = [v.scenario for v in expand_sweep(data, path.parent)] if "sweep" in data else [
        load_scenario(path)]
    for scenario in scenarios:
        text = scenario_text(scenario)
        assert scenario_text(Scenario.model_validate(yaml.safe_load(text))) == text


def test_a_seed_listed_twice_is_refused_naming_it(tmp_path):
    # the twins would run the same variant twice, and their zero-width interval would look separated
    assert problems(tmp_path, GOOD + "sweep: {seeds: [1, 1]}\n") == [
        "sweep.seeds: lists the seed 1 twice (each seed runs every variant once)"]
    assert problems(tmp_path, GOOD + "sweep: {seeds: [4, 2, 7, 2]}\n")[0].startswith("sweep.seeds: lists the seed 2 twice")
    assert problems(tmp_path, GOOD + "sweep: {seeds: [1]}\n", ["sweep.seeds=[3, 3]"])[0].startswith(
        "sweep.seeds: lists the seed 3 twice")


@pytest.mark.parametrize("sweep, message", [
    ("{grid: {sweep.seeds: [[1], [2]]}}", "sweep: grid key 'sweep.seeds': the grid varies the scenario, not its "
                                          "sweep block (seeds go under sweep.seeds)"),
    ("{grid: {'sweep[grid]': [{}]}}", "sweep: grid key 'sweep[grid]': the grid varies the scenario"),
    ("{grid: {sweep: [{}]}}", "sweep: grid key 'sweep': the grid varies the scenario"),
    ("{cases: {a: {sweep.seeds: [1]}}}", "sweep: case 'a' edits 'sweep.seeds': a case edits the scenario, not its "
                                         "sweep block"),
])
def test_the_sweeps_own_keys_are_neither_grid_keys_nor_case_edits(tmp_path, sweep, message):
    found = problems(tmp_path, GOOD + f"sweep: {sweep}\n")
    assert len(found) == 1 and found[0].startswith(message)


def test_a_set_inside_a_case_must_name_one_of_the_cases(tmp_path):
    text = GOOD + "sweep: {cases: {fedbuff: {evaluation.every_rounds: 2}, plain: {}}}\n"
    assert problems(tmp_path, text, ["sweep.cases.fedbuf[evaluation.every_rounds]=3"]) == [
        "--set 'sweep.cases.fedbuf[evaluation.every_rounds]': the sweep has no case 'fedbuf' (its cases: fedbuff, "
        "plain); add a case in the scenario's sweep.cases"]
    assert problems(tmp_path, text, ["sweep.cases.fedbuf=3"])[0].startswith(
        "--set 'sweep.cases.fedbuf': the sweep has no case 'fedbuf'")
    assert problems(tmp_path, GOOD + "sweep: {seeds: [1]}\n", ["sweep.cases.a.seed=1"])[0].startswith(
        "--set 'sweep.cases.a.seed': the sweep has no cases")
    assert problems(tmp_path, GOOD, ["sweep.cases.a.seed=1"])[0].startswith("--set 'sweep.cases.a.seed': the sweep "
                                                                              "has no cases")
    # an existing case takes the edit, and so does one the command line gave before
    edited = read_raw(write(tmp_path, text))
    variants = expand_sweep(apply_edits(edited, ["sweep.cases.fedbuff[evaluation.every_rounds]=3"]))
    assert [v.scenario.evaluation.every_rounds for v in variants] == [3, 1]
    variants = expand_sweep(apply_edits(edited, ["sweep.cases={x: {stop.max_rounds: 4}}", "sweep.cases.x.seed=1"]))
    assert [v.scenario.stop.max_rounds for v in variants] == [4]
    # the whole cases mapping may still be replaced
    assert len(expand_sweep(apply_edits(edited, ["sweep.cases={one: {}, two: {}, three: {}}"]))) == 3


def test_a_cosine_schedule_without_rounds_decays_over_the_runs_max_rounds(tmp_path):
    text = GOOD + "algorithm: {name: fedavg, lr_schedule: {kind: cosine}}\nstop: {max_rounds: 40}\n"
    assert load_scenario(write(tmp_path, text)).algorithm.lr_schedule.rounds == 40
    assert load_scenario(write(tmp_path, text), ["stop.max_rounds=300"]).algorithm.lr_schedule.rounds == 300
    explicit = text.replace("{kind: cosine}", "{kind: cosine, rounds: 7}")
    assert load_scenario(write(tmp_path, explicit)).algorithm.lr_schedule.rounds == 7
    assert problems(tmp_path, text, ["stop.max_rounds=null"]) == [
        "algorithm.lr_schedule.rounds: required key is missing (rounds over which the factor falls from 1 to "
        "min_factor; in a scenario it defaults to stop.max_rounds)"]
    # an invalid stop.max_rounds is reported once, at its own key, not as a missing or bad schedule length too
    for bad in ("abc", "0", "-3"):
        found = problems(tmp_path, text, [f"stop.max_rounds={bad}"])
        assert [p.split(":")[0] for p in found] == ["stop.max_rounds"]


@pytest.mark.parametrize("algorithm, message", [
    ("hmoe", "ranks devices by their local loss, which hmoe does not report"),
    ("kasync_sgd", "the kasync protocol starts devices as they become free"),
])
def test_power_of_choice_is_refused_where_it_cannot_work(tmp_path, algorithm, message):
    text = GOOD + f"algorithm: {{name: {algorithm}}}\n"
    found = problems(tmp_path, text, ["server.selection={kind: power_of_choice}"])
    assert any(p.startswith("server.selection:") and message in p for p in found)


@pytest.mark.parametrize("algorithm, protocol", [("fedavg", "sync"), ("hmoe", "sync"), ("kasync_sgd", "kasync"),
                                                 ("fedbuff", "kasync"), ("akafl_r", "kasync")])
def test_without_server_protocol_a_scenario_runs_under_its_algorithms_own(tmp_path, algorithm, protocol):
    text = GOOD + f"algorithm: {{name: {algorithm}}}\n"
    if algorithm == "hmoe":
        text = text.replace("dataset: {name: synthetic}", "dataset: {name: synthetic, taxonomy: {kind: edgelist, "
                                                          "path: tree.txt}}")
        (tmp_path / "tree.txt").write_text("root a\nroot b\n" + "".join(f"{'a' if c < 5 else 'b'} {c}\n"
                                                                            for c in range(10)))
    assert load_scenario(write(tmp_path, text)).server.protocol.kind == protocol


def test_a_protocol_the_algorithm_cannot_run_under_is_refused_naming_the_ones_it_can(tmp_path):
    found = problems(tmp_path, GOOD, ["server.protocol={kind: kasync}"])
    assert found == ["server.protocol.kind: fedavg runs under sync, not kasync"]
    found = problems(tmp_path, GOOD + "algorithm: {name: akafl_r}\n", ["server.protocol={kind: periodic, period_s: 5}"])
    assert found == ["server.protocol.kind: akafl_r runs under kasync, not periodic"]


def test_an_unknown_protocol_or_a_missing_period_is_named_by_its_path(tmp_path):
    found = problems(tmp_path, GOOD, ["server.protocol={kind: gossip}"])
    assert found == ["server.protocol.kind: 'gossip' is not one of 'buffered', 'kasync', 'periodic', 'sync'"]
    found = problems(tmp_path, GOOD + "algorithm: {name: fedbuff}\n", ["server.protocol={kind: periodic}"])
    assert found == ["server.protocol.period_s: required key is missing (simulated time between aggregations, "
                     "e.g. 30s or 5m (at least 1 ms))"]  # a missing key's message carries the schema's description
    found = problems(tmp_path, GOOD + "algorithm: {name: fedbuff}\n", ["server.protocol={kind: buffered, bogus: 1}"])
    assert found == ["server.protocol.bogus: unknown key; allowed keys: kind, concurrency"]


def test_an_unknown_key_of_a_selector_lists_the_keys_it_takes(tmp_path):
    found = problems(tmp_path, GOOD, ["server.selection={kind: deadline_aware, deadline_s: 5}"])
    assert found == ["server.selection.deadline_s: unknown key; allowed keys: kind, margin"]


def test_a_block_given_as_a_word_lists_its_keys_without_naming_a_class(tmp_path):
    found = problems(tmp_path, GOOD, ["fleet.groups.0.battery=true"])
    assert found == ["fleet.groups[0].battery: Input should be a valid dictionary of the keys capacity_wh, "
                     "initial_soc, leave_below, rejoin_above, charge_w, charging (got True)"]


@pytest.mark.parametrize("charging, message", [
    ("sometimes", "charging: Input should be 'availability' or 'trace', or a mapping (got 'sometimes')"),
    ("{kind: windows}", "charging.windows: required key is missing"),
    ("{kind: windowz}", "charging.kind: 'windowz' is not one of 'always', 'windows', 'hourly'"),
])
def test_a_key_that_takes_a_word_or_a_block_reports_one_problem_in_the_form_given(tmp_path, charging, message):
    found = problems(tmp_path, GOOD, [f"fleet.groups.0.battery={{capacity_wh: 5, charging: {charging}}}"])
    assert found == [f"fleet.groups[0].battery.{message}"]


def test_a_period_that_cannot_end_before_the_horizon_or_is_below_a_millisecond_is_refused(tmp_path):
    text = GOOD + "algorithm: {name: fedbuff}\nstop: {horizon_s: 1h}\n"
    found = problems(tmp_path, text, ["server.protocol={kind: periodic, period_s: 2h}"])
    assert found == ["server.protocol.period_s: 7200 s is not shorter than stop.horizon_s (3600 s): no period "
                     "would end before the run does"]
    found = problems(tmp_path, text, ["server.protocol={kind: periodic, period_s: 1e-9}"])
    assert found[0].startswith("server.protocol.period_s: Input should be greater than or equal to 0.001")


def test_a_protocol_given_as_a_bare_name_says_how_to_write_it(tmp_path):
    assert problems(tmp_path, GOOD + "algorithm: {name: fedbuff}\n", ["server.protocol=buffered"]) == [
        "server.protocol: must be a mapping with a kind key ({kind: buffered}); kind: one of 'buffered', 'kasync', "
        "'periodic', 'sync' (got 'buffered')"]
