"""Max-min fair sharing of links, and the FlowScheduler advancing flows in simulated time.

``reference_max_min_rates`` and ``ReferenceScheduler`` are the straightforward progressive filling (every
link rescanned at every step, every flow's rate recomputed at every event) that edgesim used before its
sharing became incremental; random fleets of flows must get exactly their rates and completion times.
"""

import math
import random

import pytest
import simpy

from edgesim.sim.links import Flow, FlowScheduler, Link, max_min_rates

BIG = 1e12  # a cap that never binds


# --- the reference: progressive filling rescanning every link at every step ----------------------


class ReferenceFlow:
    __slots__ = ("cap_bps", "done", "links", "order", "rate_bps", "remaining_bits")

    def __init__(self, env, bits, cap_bps, links, order):
        self.remaining_bits = float(bits)
        self.cap_bps = float(cap_bps)
        self.links = links
        self.rate_bps = 0.0
        self.done = env.event()
        self.order = order


def reference_max_min_rates(flows):
    rates = {}
    remaining = {}
    crossing = {}
    for flow in flows:
        for link in flow.links:
            remaining[link] = link.capacity_bps
            crossing.setdefault(link, []).append(flow)
    unfixed = sorted(flows, key=lambda f: (f.cap_bps, f.order))
    while unfixed:
        bottleneck, share = None, math.inf
        for link, members in crossing.items():
            active = sum(1 for f in members if f not in rates)
            if active and remaining[link] / active < share:
                bottleneck, share = link, remaining[link] / active
        smallest = unfixed[0]
        if smallest.cap_bps <= share:
            fixed = [smallest]
            rate = smallest.cap_bps
        else:
            fixed = [f for f in crossing[bottleneck] if f not in rates]
            rate = share
        for flow in fixed:
            rates[flow] = rate
            for link in flow.links:
                remaining[link] = max(0.0, remaining[link] - rate)
        fixed_set = set(fixed)
        unfixed = [f for f in unfixed if f not in fixed_set]
    return rates


class ReferenceScheduler:
    def __init__(self, env):
        self.env = env
        self.flows = []
        self._last = env.now
        self._generation = 0
        self._started = 0

    def start(self, bits, cap_bps, links):
        self._advance()
        flow = ReferenceFlow(self.env, bits, cap_bps, links, self._started)
        self._started += 1
        self.flows.append(flow)
        self._reschedule()
        return flow

    def cancel(self, flow):
        if flow in self.flows:
            self._advance()
            self.flows.remove(flow)
            self._reschedule()

    def _advance(self):
        elapsed = self.env.now - self._last
        if elapsed > 0:
            for flow in self.flows:
                flow.remaining_bits -= flow.rate_bps * elapsed
        self._last = self.env.now

    def _reschedule(self):
        self._generation += 1
        if not self.flows:
            return
        rates = reference_max_min_rates(self.flows)
        for flow in self.flows:
            flow.rate_bps = rates[flow]
        delay = min(
            (max(0.0, f.remaining_bits) / f.rate_bps for f in self.flows if f.rate_bps > 0), default=math.inf
        )
        if math.isinf(delay):
            raise RuntimeError("shared links left every active transfer without bandwidth")
        timer = self.env.timeout(delay)
        generation = self._generation
        timer.callbacks.append(lambda _event: self._on_timer(generation))

    def _on_timer(self, generation):
        if generation != self._generation:
            return
        self._advance()
        finished = [f for f in self.flows if f.remaining_bits <= 1e-6 * max(1.0, f.rate_bps)]
        if not finished:
            finished = [min(self.flows, key=lambda f: f.remaining_bits / f.rate_bps if f.rate_bps else math.inf)]
        for flow in finished:
            self.flows.remove(flow)
            flow.remaining_bits = 0.0
            flow.done.succeed()
        self._reschedule()


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


# --- random fleets of flows: the incremental sharing against the reference ---------------------


def random_links(rng, count):
    """Capacities from a few round values (so that shares tie) and from a continuum (so that they round)."""
    return [Link(f"l{i}", rng.choice([10.0, 12.0, 30.0, 7.0]) if rng.random() < 0.5 else rng.uniform(1, 50))
            for i in range(count)]


def random_cap(rng):
    return rng.choice([2.0, 3.0, 5.0, BIG]) if rng.random() < 0.5 else rng.uniform(0.5, 20)


@pytest.mark.parametrize("seed", range(300))
def test_rates_equal_the_reference_bit_for_bit(seed):
    rng = random.Random(seed)
    env = simpy.Environment()
    links = random_links(rng, rng.randint(1, 6))
    flows = [make_flow(env, 1, random_cap(rng), rng.sample(links, rng.randint(0, min(3, len(links)))), i)
             for i in range(rng.randint(1, 40))]
    rng.shuffle(flows)  # the order given decides which of two tied links goes first
    rates = max_min_rates(flows)
    assert rates == reference_max_min_rates(flows)
    for link in links:  # and they are feasible: no link above its capacity (up to rounding)
        assert sum(rates[f] for f in flows if link in f.links) <= link.capacity_bps * (1 + 1e-12)


@pytest.mark.parametrize("seed", range(100))
def test_rates_of_flows_on_one_link_equal_the_reference_bit_for_bit(seed):
    rng = random.Random(500 + seed)
    env = simpy.Environment()
    link = random_links(rng, 1)
    flows = [make_flow(env, 1, random_cap(rng), link, i) for i in range(rng.randint(1, 60))]
    rng.shuffle(flows)
    assert max_min_rates(flows) == reference_max_min_rates(flows)


def play(scheduler_class, script, links, clock_s=0.0):
    """Run ``script`` (``(time, "start", bits, cap, link indices)`` or ``(time, "cancel", k)``: the k-th flow
    started, times after ``clock_s``) on a scheduler; returns every flow's completion time (None if
    cancelled), and after each step the rates and remaining bits of the flows in progress."""
    env = simpy.Environment(initial_time=clock_s)
    scheduler = scheduler_class(env)
    started, done, snapshots = [], {}, []

    def driver():
        for step in script:
            if clock_s + step[0] > env.now:
                yield env.timeout(clock_s + step[0] - env.now)
            if step[1] == "start":
                flow = scheduler.start(step[2], step[3], tuple(links[i] for i in step[4]))
                k = len(started)
                flow.done.callbacks.append(lambda _e, k=k: done.__setitem__(k, env.now))
                started.append(flow)
            else:
                scheduler.cancel(started[step[2]])
            snapshots.append([(started.index(f), f.rate_bps, f.remaining_bits) for f in scheduler.flows])

    env.process(driver())
    env.run()
    return [done.get(k) for k in range(len(started))], snapshots


@pytest.mark.parametrize("clock_s", [0.0, 1e11])  # late in a long clock, rounding leaves no flow done on time
@pytest.mark.parametrize("seed", range(60))
def test_completion_times_equal_the_reference_bit_for_bit(seed, clock_s):
    rng = random.Random(1000 + seed)
    links = random_links(rng, rng.randint(1, 5))
    script, now, count = [], 0.0, 0
    for _ in range(rng.randint(5, 60)):
        now += rng.choice([0.0, 0.0, rng.uniform(0, 2)])  # bursts at one instant, as when a round starts
        if count and rng.random() < 0.15:
            script.append((now, "cancel", rng.randrange(count)))
        else:
            bits = rng.choice([10.0, 20.0]) if rng.random() < 0.3 else rng.uniform(1, 40)
            script.append((now, "start", bits, random_cap(rng),
                           rng.sample(range(len(links)), rng.randint(1, min(3, len(links))))))
            count += 1
    times, snapshots = play(FlowScheduler, script, links, clock_s)
    reference_times, reference_snapshots = play(ReferenceScheduler, script, links, clock_s)
    assert times == reference_times
    assert snapshots == reference_snapshots
    assert any(t is not None for t in times)


# --- fidelity: n equal flows take n times the solo time ------------------------------------------


@pytest.mark.parametrize("n", [1, 10, 1000])
def test_n_equal_flows_take_n_times_the_solo_time(n):
    env = simpy.Environment()
    scheduler = FlowScheduler(env)
    link = Link("cell", 10e6)
    flows = [scheduler.start(5e6, BIG, (link,)) for _ in range(n)]
    assert {f.rate_bps for f in flows} == {10e6 / n}
    times = finish_times(env, dict(enumerate(flows)))
    env.run()
    solo = 5e6 / 10e6
    assert len(times) == n
    assert all(t == pytest.approx(n * solo, rel=1e-12) for t in times.values())
    assert scheduler.flows == []


def test_flows_on_separate_links_keep_their_rates_when_another_link_changes():
    env = simpy.Environment()
    scheduler = FlowScheduler(env)
    cell_a, cell_b = Link("a", 10e6), Link("b", 6e6)
    a = scheduler.start(10e6, BIG, (cell_a,))
    b1 = scheduler.start(6e6, BIG, (cell_b,))
    b2 = scheduler.start(6e6, 2e6, (cell_b,))
    assert (a.rate_bps, b1.rate_bps, b2.rate_bps) == (10e6, 4e6, 2e6)
    scheduler.cancel(b2)
    assert (a.rate_bps, b1.rate_bps) == (10e6, 6e6)


def test_a_flow_on_a_link_without_capacity_waits_at_rate_zero_as_in_the_reference():
    links = [Link("dead", 0.0), Link("good", 10.0)]
    script = [(0.0, "start", 10.0, BIG, [1]), (0.0, "start", 10.0, BIG, [0]), (0.0, "start", 5.0, 4.0, [0, 1]),
              (0.5, "cancel", 1), (0.7, "cancel", 2)]
    times, snapshots = play(FlowScheduler, script, links)
    assert (times, snapshots) == play(ReferenceScheduler, script, links)
    assert snapshots[2] == [(0, 10.0, 10.0), (1, 0.0, 10.0), (2, 0.0, 5.0)]
    assert times == [1.0, None, None]
