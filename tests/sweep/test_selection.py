"""--only: options parsed into keys and alternatives, variants chosen by their sweep.csv cells."""

from __future__ import annotations

import pytest

from edgesim.errors import InputError
from edgesim.scenario import expand_sweep
from edgesim.sweep.selection import parse_only, select_variants

BASE = {
    "name": "pick",
    "fleet": {"groups": [{"name": "pi", "profile": "raspberry_pi_4", "count": 4, "network": "wifi5"}]},
    "dataset": {"name": "synthetic", "synthetic": {"train_size": 400, "test_size": 200}},
    "server": {"clients_per_round": 2},
    "stop": {"max_rounds": 2},
    "sweep": {
        "cases": {"fedavg": {"algorithm": {"name": "fedavg"}}, "fedbuff": {"algorithm": {"name": "fedbuff"}}},
        "grid": {"fleet.stragglers": [{"kind": "none"}, {"kind": "lognormal", "sigma": 1.0}]},
        "seeds": [1, 2],
    },
}


def test_options_become_keys_with_their_alternatives():
    assert parse_only([]) == {}
    assert parse_only(["case=fedavg", " seed = 2", "seed=1", "seed=2"]) == {"case": ["fedavg"], "seed": ["2", "1"]}
    with pytest.raises(InputError, match="--only =1: give KEY=VALUE"):
        parse_only(["=1"])


def test_variants_match_every_key_and_any_of_its_values():
    variants = expand_sweep(BASE)
    assert len(variants) == 8  # case x straggler model x seed, seeds fastest
    assert select_variants(variants, {}) == list(range(8))
    assert select_variants(variants, {"case": ["fedbuff"]}) == [4, 5, 6, 7]
    assert select_variants(variants, {"case": ["fedbuff"], "seed": ["1"]}) == [4, 6]
    assert select_variants(variants, {"seed": ["1", "2"], "fleet.stragglers": ['{"kind":"none"}']}) == [0, 1, 4, 5]


def test_a_value_may_be_written_as_the_table_does_as_set_reads_it_or_as_its_label():
    data = BASE | {"sweep": BASE["sweep"] | {"grid": {"fleet.memory_fraction": [0.5, 1.0], "algorithm.lr": [1e-9]},
                                             "labels": {"fleet.memory_fraction": ["half", "all"]}}}
    variants = expand_sweep(data)
    everything = {"case": ["fedavg"], "algorithm.lr": ["1e-09"]}
    for spelling in ("1.0", "1", "all"):
        assert select_variants(variants, everything | {"fleet.memory_fraction": [spelling]}) == [2, 3]
    assert select_variants(variants, {"algorithm.lr": ["1e-9"], "seed": ["2"], "case": ["fedbuff"]}) == [5, 7]
    stragglers = expand_sweep(BASE)
    for spelling in ('{"kind":"none"}', "{kind: none}", '{"kind": "none"}'):
        assert select_variants(stragglers, {"fleet.stragglers": [spelling], "case": ["fedavg"]}) == [0, 1]
    with pytest.raises(InputError, match=r"--only seed=true: no variant has it; the sweep's values of seed are 1, 2$"):
        select_variants(stragglers, {"seed": ["true"]})  # a boolean is not the number 1
    with pytest.raises(InputError, match=r"values of fleet.memory_fraction are 0.5 \(half\), 1.0 \(all\)$"):
        select_variants(variants, {"fleet.memory_fraction": ["2"]})


def test_a_value_is_never_taken_for_a_label_that_spells_another_value():
    data = BASE | {"sweep": BASE["sweep"] | {"grid": {"fleet.memory_fraction": [0.5, 1.0]}, "seeds": [1],
                                             "labels": {"fleet.memory_fraction": ["1", "0.5"]}}}
    variants = expand_sweep(data)  # fedavg: 0.5 labelled "1", 1.0 labelled "0.5"; then fedbuff
    assert select_variants(variants, {"fleet.memory_fraction": ["0.5"]}) == [0, 2]
    assert select_variants(variants, {"fleet.memory_fraction": ["1"]}) == [1, 3]


def test_a_value_no_variant_has_is_refused_with_the_values_it_could_be():
    variants = expand_sweep(BASE)
    with pytest.raises(InputError) as caught:
        select_variants(variants, {"case": ["fedprox"], "round": ["1"]})
    assert caught.value.problems == [
        "--only case=fedprox: no variant has it; the sweep's values of case are fedavg, fedbuff",
        "--only round=...: not a parameter of this sweep; its parameters are case, fleet.stragglers, seed, and "
        "variant its variants' numbers"]


def test_variants_may_be_named_by_their_numbers_alone_or_with_other_keys():
    variants = expand_sweep(BASE)
    assert select_variants(variants, {"variant": ["5", "1", "005"]}) == [1, 5]  # case-seed pairs no key gives
    assert select_variants(variants, {"variant": ["+1", "5.0"]}) == [1, 5]  # as --set reads them
    assert select_variants(variants, {"variant": ["1", "5"], "case": ["fedbuff"]}) == [5]
    refused = ("8", "-1", "run-001", "1.5", "true", ".inf", ".nan", "\u00b2", "\u0663", "9" * 5000)  # ², Arabic 3
    with pytest.raises(InputError) as caught:
        select_variants(variants, {"variant": [*refused, "2"]})
    assert caught.value.problems == [f"--only variant={text}: no variant has that number; give a whole number, "
                                     "0 to 7" for text in refused]


def test_keys_that_no_variant_matches_together_are_refused():
    with pytest.raises(InputError, match=r"--only variant=1 --only case=fedbuff: no variant matches every key"):
        select_variants(expand_sweep(BASE), {"variant": ["1"], "case": ["fedbuff"]})
