"""The pre-flight checks shared by validate and run: memory before loading, rounds that can never fill
(per HMoE expert too), fleets never available before the horizon, warnings."""

from __future__ import annotations

import pytest

from edgesim.errors import InputError
from edgesim.preflight import check, memory_problems, prepare
from edgesim.scenario import validate

GiB = 2**30


def scenario(**sections):
    raw = {"name": "pre", "seed": 1,
           "fleet": {"groups": [{"name": "pi", "profile": "raspberry_pi_4", "count": 6, "network": "wifi5"}]},
           "dataset": {"name": "synthetic", "synthetic": {"train_size": 600, "test_size": 100}},
           "server": {"clients_per_round": 3}, "stop": {"max_rounds": 2}}
    raw.update(sections)
    return validate(raw)


def problems(s) -> list[str]:
    with pytest.raises(InputError) as caught:
        prepare(s)
    return caught.value.problems


def test_a_run_that_fits_is_prepared():
    prepared = prepare(scenario())
    assert len(prepared.fleet.devices) == 6 and not prepared.excluded and not prepared.warnings


@pytest.mark.parametrize("sections, part", [
    ({"dataset": {"name": "synthetic", "synthetic": {"train_size": 10**9}}}, "dataset 3.1 TB"),
    ({"model": {"name": "conv4", "width": 1000}}, "model copies"),
    ({"fleet": {"groups": [{"name": "pi", "profile": "raspberry_pi_4", "count": 10**8, "network": "wifi5"}]}},
     "fleet 800.0 GB"),
])
def test_sizes_that_would_exhaust_memory_are_refused_with_an_estimate_before_loading(sections, part):
    [message] = memory_problems(scenario(**sections), available=16 * GiB)
    assert message.startswith("the run would need about ") and part in message
    assert "but this machine has 17.2 GB free" in message


def test_the_memory_estimate_passes_an_ordinary_run():
    assert memory_problems(scenario(), available=1 * GiB) == []


def test_devices_without_data_or_memory_are_counted_against_the_round():
    partition = {"kind": "dirichlet", "alpha": 0.0001, "min_samples": 0}
    [message] = problems(scenario(dataset={"name": "synthetic", "partition": partition},
                                  server={"clients_per_round": 6}))
    assert message.startswith("server.clients_per_round: a round needs 6 ready devices, but only ")
    assert "hold no training data for them (dataset.partition)" in message
    [message] = problems(scenario(server={"clients_per_round": 3, "min_clients": 2},
                                  fleet={"groups": [{"name": "pi", "profile": "raspberry_pi_4", "count": 6,
                                                     "network": "wifi5"}], "memory_fraction": 1e-9}))
    assert message.startswith("server.min_clients: a round needs 2 ready devices, but only 0 of the 6 devices")


def test_each_hmoe_expert_needs_enough_devices_holding_data_under_it(tmp_path):
    tree = tmp_path / "tree.txt"
    tree.write_text("root low\nroot high\nlow 0\nlow 1\nlow 2\nlow 3\nlow 4\nhigh 5\nhigh 6\nhigh 7\nhigh 8\nhigh 9\n")
    shards = {"kind": "shards", "classes_per_client": 1, "samples_per_class": 20}
    dataset = {"name": "synthetic", "partition": shards, "taxonomy": {"kind": "edgelist", "path": str(tree)}}
    found = problems(scenario(dataset=dataset, algorithm={"name": "hmoe"}, server={"clients_per_round": 4},
                              model={"name": "mlp"}))
    # one class per device: nobody lacks data for the root's rounds, but the low or high expert's are short
    assert found and all(p.startswith("server.clients_per_round: a round needs 4 ready devices, but only ")
                         and " of the 6 devices can take part in rounds of expert " in p
                         and p.endswith("hold no training data for them (dataset.partition)") for p in found)
    assert not any("expert root" in p for p in found)
    prepare(scenario(dataset=dataset, algorithm={"name": "hmoe"}, model={"name": "mlp"},
                     server={"clients_per_round": 1}))


def test_a_fleet_that_is_never_available_before_the_horizon():
    fleet = {"groups": [{"name": "pi", "profile": "raspberry_pi_4", "count": 6, "network": "wifi5",
                         "availability": {"kind": "windows", "windows": [[20, 22]]}}]}
    [message] = problems(scenario(fleet=fleet, start_hour=8, stop={"horizon_s": "10h"}))
    assert message == ("fleet.availability: only 0 of the 6 devices that can take part are ever available before "
                       "the horizon (stop.horizon_s = 10.0h), and a round needs 3")
    prepare(scenario(fleet=fleet, start_hour=8, stop={"horizon_s": "13h"}))


def test_warnings_for_excluded_devices_and_a_k_larger_than_the_fleet():
    fleet = {"groups": [{"name": "pi", "profile": "raspberry_pi_4", "count": 6, "network": "wifi5"},
                        {"name": "mcu", "profile": "mcu_gateway", "count": 1, "network": "wifi4"}]}
    prepared = prepare(scenario(fleet=fleet, algorithm={"name": "kasync_sgd", "k": 10}, model={"name": "wkafl_cnn"},
                                server={}))
    assert [w.split(":")[0] for w in prepared.warnings] == ["algorithm.k", "1 of 7 devices cannot hold the training "
                                                                           "footprint (6.1 MB) and will not take part"]
    assert prepared.warnings[0] == "algorithm.k: 10 is more than the 6 devices that can take part; each " \
                                   "aggregation takes 6"


def test_round_keys_an_asynchronous_protocol_ignores_are_named():
    prepared = prepare(scenario(algorithm={"name": "fedbuff", "k": 2},
                                server={"clients_per_round": 3, "deadline_s": "1m", "over_selection": 0.0}))
    assert prepared.warnings == ["server.clients_per_round applies to the sync protocol; the kasync protocol ignores it",
                                 "server.deadline_s applies to the sync protocol; the kasync protocol ignores it"]
    assert not prepare(scenario(server={"clients_per_round": 3, "deadline_s": "1m"})).warnings  # sync reads them


def test_power_figures_of_0_w_and_batteries_that_can_never_drain_are_announced():
    unmeasured = {"calibrated": {"train_gflops": 5, "ram_mb": 4000, "power_idle_w": 0, "power_active_w": 0,
                                "source": "edgesim calibrate"}}
    group = {"name": "pi", "profile": "calibrated", "count": 6, "network": "wifi5", "battery": {"capacity_wh": 5}}
    prepared = prepare(scenario(profiles={"devices": unmeasured}, fleet={"groups": [group]}))
    assert prepared.warnings == [
        "fleet.groups[0].profile: calibrated gives no power figures (0 W idle and active), so its devices' computing "
        "and idling count as 0 J; only transfers count, at the wifi5 radio's 0.8 W",
        "fleet.groups[0].battery.charging: the devices are plugged in at every moment and charge at 10 W, at least "
        "their heaviest draw (0.8 W), so their batteries never drain; give the group an availability or "
        "battery.charging a schedule with unplugged hours"]
    evenings = {"kind": "windows", "windows": [[0, 23]]}
    group = {**group, "profile": "raspberry_pi_4", "availability": evenings}
    assert not prepare(scenario(fleet={"groups": [group]})).warnings


@pytest.mark.parametrize("charging", [{"kind": "always"}, {"kind": "windows", "windows": [[0, 24]]},
                                      {"kind": "windows", "windows": [[20, 8], [8, 20]], "jitter_h": 2},
                                      {"kind": "hourly", "probability": [1.0] * 24}])
def test_a_charging_schedule_that_is_always_on_is_announced(charging):
    group = {"name": "pi", "profile": "raspberry_pi_4", "count": 6, "network": "wifi5",
             "battery": {"capacity_wh": 5, "charging": charging}}
    [warning] = prepare(scenario(fleet={"groups": [group]})).warnings
    assert warning.startswith("fleet.groups[0].battery.charging: the devices are plugged in at every moment")
    unplugged = {**group, "battery": {"capacity_wh": 5, "charging": {"kind": "windows", "windows": [[22, 7]]}}}
    assert not prepare(scenario(fleet={"groups": [unplugged]})).warnings


def test_a_charger_weaker_than_the_draw_drains_the_battery_and_is_not_warned_of():
    group = {"name": "pi", "profile": "raspberry_pi_4", "count": 6, "network": "wifi5",
             "battery": {"capacity_wh": 5, "charge_w": 2}}  # a Pi 4 trains at 6.4 W
    assert not prepare(scenario(fleet={"groups": [group]})).warnings


def test_a_0_w_profile_on_a_network_without_radio_power_counts_nothing():
    silent = {"devices": {"calibrated": {"train_gflops": 5, "ram_mb": 4000, "power_idle_w": 0, "power_active_w": 0,
                                         "source": "edgesim calibrate"}},
              "networks": {"wired": {"down_mbps": 100, "up_mbps": 100, "latency_ms": 1, "source": "assumed"}}}
    group = {"name": "pi", "profile": "calibrated", "count": 6, "network": "wired"}
    assert prepare(scenario(profiles=silent, fleet={"groups": [group]})).warnings == [
        "fleet.groups[0].profile: calibrated gives no power figures (0 W idle and active), so its devices' computing "
        "and idling count as 0 J (the wired network gives no radio_w either)"]


def test_selectors_that_cannot_do_what_their_names_say_are_announced():
    fastest = prepare(scenario(server={"clients_per_round": 2, "selection": {"kind": "deadline_aware"}}))
    assert [w for w in fastest.warnings if w.startswith("server.selection")] == [
        "server.selection: deadline_aware without server.deadline_s takes the fastest ready devices every round, so "
        "the slowest devices' data may never be trained on; give the round a deadline"]
    mains = prepare(scenario(server={"clients_per_round": 2, "selection": {"kind": "battery_aware"}}))
    assert [w for w in mains.warnings if w.startswith("server.selection")] == [
        "server.selection: battery_aware in a fleet without batteries selects uniformly (every device is on mains "
        "power); give groups a battery: block"]
    timed = {"clients_per_round": 2, "deadline_s": "1m", "selection": {"kind": "deadline_aware"}}
    assert not [w for w in prepare(scenario(server=timed)).warnings if w.startswith("server.selection")]


def test_judging_on_the_test_series_needs_no_validation_set_but_is_announced():
    judged = {"name": "akafl_rj", "k": 2, "judgement_data": "test"}
    prepared = prepare(scenario(algorithm=judged))
    assert [w for w in prepared.warnings if "leak test data" in w] == [
        "algorithm.judgement_data: test: judgement chooses models by their accuracy on the test series, so the "
        "test accuracies of this run leak test data (as in the paper)"]
    with pytest.raises(InputError, match="or algorithm.judgement_data: test to judge on the test series"):
        scenario(algorithm={"name": "akafl_rj", "k": 2})  # judging on validation needs dataset.validation_size
    with pytest.raises(InputError, match="judgement_data applies only with judgement"):
        scenario(algorithm={"name": "akafl_r", "k": 2, "judgement_data": "test"})  # a setting that would do nothing


def test_validate_downloads_nothing_and_says_which_checks_wait_for_the_data(tmp_path, monkeypatch):
    import edgesim.download as download

    monkeypatch.setattr(download, "fetch", lambda *a, **k: pytest.fail("validate must not download"))
    mnist = scenario(dataset={"name": "mnist", "data_dir": str(tmp_path), "download": True})
    [warning] = check(mnist)
    assert warning.startswith("dataset: not downloaded yet (train-images-idx3-ubyte.gz, ")
    assert check(scenario()) == []


@pytest.mark.parametrize("sections, part", [
    ({"fleet": {"groups": [{"name": "pi", "profile": "raspberry_pi_4", "count": int("9" * 400),
                            "network": "wifi5"}]}}, "the run would need more than 1,000,000 TB of memory"),
    ({"model": {"name": "small_cnn", "width": 10**8}}, "model: small_cnn (width 100000000) is too large to build"),
])
def test_sizes_beyond_what_can_be_counted_are_refused_too(sections, part):
    [message] = memory_problems(scenario(**sections), available=16 * GiB)
    assert part in message


def test_a_bandwidth_drawn_so_small_that_no_transfer_could_end_is_refused():
    groups = [{"name": "pi", "profile": "raspberry_pi_4", "count": 6, "network": "wifi5",
               "overrides": {"up_mbps": {"kind": "exponential", "mean": 1e-320}}}]
    [message] = problems(scenario(fleet={"groups": groups}))
    assert message.startswith("fleet.groups[0]: device pi-0 drew up_mbps = ") and "ever to end" in message
