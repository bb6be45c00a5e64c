"""The harness processes keep the garbage collector from pausing them mid-phase."""

from __future__ import annotations

import gc

from engine._bench._collector import collector_paused


def test_no_automatic_collection_inside_and_the_collector_back_after() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # nested: still off, and not turned on by the inner one
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_comes_back_after_an_error() -> None:
    try:
        with collector_paused():
            raise KeyError("in the phase")
    except KeyError:
        pass
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
