"""Signals: SIGTERM as an interruption that survives SimPy passing it on, and critical sections a signal waits for."""

from __future__ import annotations

import os
import signal
import time

import pytest
import simpy

from edgesim.signals import Terminated, signal_number, signals_deferred, sigterm_as_interrupt


def test_sigterm_raises_terminated_which_is_an_interruption():
    with sigterm_as_interrupt():
        with pytest.raises(KeyboardInterrupt) as caught:
            os.kill(os.getpid(), signal.SIGTERM)
    assert isinstance(caught.value, Terminated) and signal_number(caught.value) == signal.SIGTERM
    assert signal_number(KeyboardInterrupt()) == signal.SIGINT


def test_sigterm_can_report_the_signal_that_stopped_the_sender():
    """A sweep worker, sent SIGTERM by a driver stopped with Ctrl-C, reports SIGINT."""
    with sigterm_as_interrupt(reported_as=lambda: signal.SIGINT):
        with pytest.raises(Terminated) as caught:
            os.kill(os.getpid(), signal.SIGTERM)
    assert signal_number(caught.value) == signal.SIGINT


def test_terminated_keeps_its_signal_when_simpy_recreates_it():
    """SimPy re-raises an exception that escapes a process as ``type(e)(*e.args)``."""
    env = simpy.Environment()

    def interrupted():
        yield env.timeout(1)
        raise Terminated(signal.SIGTERM)

    env.process(interrupted())
    with pytest.raises(Terminated) as caught:
        env.run()
    assert caught.value.signum == signal.SIGTERM


def test_a_signal_sent_in_a_deferred_section_arrives_after_it():
    done = []
    with sigterm_as_interrupt():
        with pytest.raises(Terminated):
            with signals_deferred():
                os.kill(os.getpid(), signal.SIGTERM)
                done.append("the section ran to its end")
    assert done == ["the section ran to its end"]


def test_a_signal_another_thread_receives_is_deferred_too():
    # the kernel may hand a process-directed signal to any thread (torch's OpenMP threads, here a sleeper)
    import threading

    done, stop = [], threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with sigterm_as_interrupt():
            with pytest.raises(Terminated):
                with signals_deferred():
                    signal.pthread_kill(other.ident, signal.SIGTERM)
                    time.sleep(0.05)  # the main thread checks for pending handlers meanwhile
                    done.append("the section ran to its end")
    finally:
        stop.set()
        other.join()
    assert done == ["the section ran to its end"]
