"""Max-min fair sharing of links, and the FlowScheduler advancing flows in simulated time."""

import pytest
import simpy

from edgesim.sim.links import Flow, FlowScheduler, Link, max_min_rates

BIG = 1e12  # a cap that never binds


def make_flow(env, bits, cap, links, order):
    return Flow(env, bits, cap, tuple(links), order)


# --- max_min_rates -----------------------------------------------------------------------------


def test_equal_split_on_one_link():
    env = simpy.Environment()
    link = Link("l", 12.0)
    flows = [make_flow(env, 1, BIG, [link], i) for i in range(3)]
    rates = max_min_rates(flows)
    assert [rates[f] for f in flows] == [4.0, 4.0, 4.0]


def test_capped_flow_leaves_its_share_to_the_others():
    # capacity 12, three flows: one capped at 2 -> the other two split the remaining 10.
    env = simpy.Environment()
    link = Link("l", 12.0)
    capped = make_flow(env, 1, 2.0, [link], 0)
    a = make_flow(env, 1, BIG, [link], 1)
    b = make_flow(env, 1, BIG, [link], 2)
    rates = max_min_rates([a, capped, b])
    assert rates[capped] == 2.0
    assert rates[a] == 5.0 and rates[b] == 5.0


def test_cap_above_fair_share_does_not_bind():
    env = simpy.Environment()
    link = Link("l", 10.0)
    a = make_flow(env, 1, 6.0, [link], 0)
    b = make_flow(env, 1, 7.0, [link], 1)
    rates = max_min_rates([a, b])
    assert rates[a] == 5.0 and rates[b] == 5.0


def test_flow_crossing_two_links_and_the_bottleneck():
    # L1 = 10 shared by x and y; L2 = 4 shared by y and z. L2 is the bottleneck:
    # y and z get 2 each; x then gets the rest of L1: 10 - 2 = 8.
    env = simpy.Environment()
    l1, l2 = Link("l1", 10.0), Link("l2", 4.0)
    x = make_flow(env, 1, BIG, [l1], 0)
    y = make_flow(env, 1, BIG, [l1, l2], 1)
    z = make_flow(env, 1, BIG, [l2], 2)
    rates = max_min_rates([x, y, z])
    assert rates[y] == 2.0
    assert rates[z] == 2.0
    assert rates[x] == 8.0


def test_bottleneck_with_caps_on_both_links():
    # L1 = 9 (x, y), L2 = 3 (y alone). y is held to 3 by L2; x gets 6, but its cap is 5.
    env = simpy.Environment()
    l1, l2 = Link("l1", 9.0), Link("l2", 3.0)
    x = make_flow(env, 1, 5.0, [l1], 0)
    y = make_flow(env, 1, BIG, [l1, l2], 1)
    rates = max_min_rates([x, y])
    assert rates[y] == 3.0
    assert rates[x] == 5.0


def test_flow_without_links_runs_at_its_cap():
    env = simpy.Environment()
    f = make_flow(env, 1, 7.5, [], 0)
    assert max_min_rates([f]) == {f: 7.5}


# --- FlowScheduler in a real environment -------------------------------------------------------


def finish_times(env, flows):
    times = {}
    for name, flow in flows.items():
        flow.done.callbacks.append(lambda _e, name=name: times.__setitem__(name, env.now))
    return times


def test_two_flows_starting_together_finish_at_hand_computed_times():
    # 10 Mbit/s link; 10 Mbit and 20 Mbit flows get 5 Mbit/s each. The first is done at
    # 10/5 = 2 s; the second then has 10 Mbit left at the full 10 Mbit/s: done at 3 s.
    env = simpy.Environment()
    scheduler = FlowScheduler(env)
    link = Link("l", 10e6)
    a = scheduler.start(10e6, BIG, (link,))
    b = scheduler.start(20e6, BIG, (link,))
    times = finish_times(env, {"a": a, "b": b})
    env.run()
    assert times["a"] == pytest.approx(2.0, abs=1e-9)
    assert times["b"] == pytest.approx(3.0, abs=1e-9)
    assert scheduler.flows == []


def test_a_flow_joining_later_slows_the_existing_one():
    # A: 30 Mbit alone on 10 Mbit/s from t=0. At t=1, 20 Mbit left; B (5 Mbit) joins, both at 5.
    # B is done at 1 + 5/5 = 2 s; A then has 20 - 5 = 15 Mbit at 10: done at 3.5 s
    # (alone it would have finished at 3 s).
    env = simpy.Environment()
    scheduler = FlowScheduler(env)
    link = Link("l", 10e6)
    times = {}

    def sender(name, delay, bits):
        if delay:
            yield env.timeout(delay)
        flow = scheduler.start(bits, BIG, (link,))
        yield flow.done
        times[name] = env.now

    env.process(sender("a", 0, 30e6))
    env.process(sender("b", 1.0, 5e6))
    env.run()
    assert times["b"] == pytest.approx(2.0, abs=1e-9)
    assert times["a"] == pytest.approx(3.5, abs=1e-9)


def test_cancelling_a_flow_speeds_up_the_other():
    # A and B (20 Mbit each) share 10 Mbit/s. B is cancelled at t=1 (A has 15 Mbit left);
    # A then runs at 10: done at 1 + 1.5 = 2.5 s (4 s if B had stayed).
    env = simpy.Environment()
    scheduler = FlowScheduler(env)
    link = Link("l", 10e6)
    a = scheduler.start(20e6, BIG, (link,))
    b = scheduler.start(20e6, BIG, (link,))
    times = finish_times(env, {"a": a, "b": b})

    def canceller():
        yield env.timeout(1.0)
        scheduler.cancel(b)
        assert a.rate_bps == 10e6
        assert a.remaining_bits == pytest.approx(15e6)

    env.process(canceller())
    env.run()
    assert times == {"a": pytest.approx(2.5, abs=1e-9)}
    assert not b.done.triggered
    assert scheduler.flows == []


def test_cap_below_share_in_scheduler():
    # Link 10 Mbit/s, A capped at 2 Mbit/s (4 Mbit) and B uncapped (16 Mbit): A at 2, B at 8.
    # A is done at 2 s; B has 16 - 16 = 0 left at 2 s as well -> both at 2 s.
    # Make B 24 Mbit: 8 left at t=2, then 10 Mbit/s -> 2.8 s.
    env = simpy.Environment()
    scheduler = FlowScheduler(env)
    link = Link("l", 10e6)
    a = scheduler.start(4e6, 2e6, (link,))
    b = scheduler.start(24e6, BIG, (link,))
    assert (a.rate_bps, b.rate_bps) == (2e6, 8e6)
    times = finish_times(env, {"a": a, "b": b})
    env.run()
    assert times["a"] == pytest.approx(2.0, abs=1e-9)
    assert times["b"] == pytest.approx(2.8, abs=1e-9)


def test_cancel_of_unknown_flow_is_a_no_op():
    env = simpy.Environment()
    scheduler = FlowScheduler(env)
    link = Link("l", 10e6)
    a = scheduler.start(10e6, BIG, (link,))
    scheduler.cancel(a)
    scheduler.cancel(a)  # already gone
    env.run()  # the superseded timer still fires at t=1 but must do nothing
    assert not a.done.triggered
    assert scheduler.flows == []
