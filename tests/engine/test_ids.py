"""Message ids: unique, and sorted like the time they were made."""

from __future__ import annotations

import re
import threading
import time

from engine._ids import id_floor, new_id


def test_ids_are_unique_and_increase() -> None:
    ids = [new_id("msg") for _ in range(50_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"msg_[0-9a-f]{32}", i) for i in ids[:100])


def test_ids_sort_by_time_across_milliseconds() -> None:
    first = new_id("msg")
    time.sleep(0.003)
    later = new_id("msg")
    assert later > first
    millis = int(first[4:16], 16)
    assert abs(millis - time.time_ns() // 1_000_000) < 10_000


def test_ids_from_many_threads_never_collide() -> None:
    made: list[list[str]] = [[] for _ in range(8)]

    def work(out: list[str]) -> None:
        out.extend(new_id("sr") for _ in range(5_000))

    threads = [threading.Thread(target=work, args=(out,)) for out in made]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [i for out in made for i in out]
    assert len(set(everything)) == len(everything)
    for out in made:
        assert out == sorted(out)


def test_id_floor_bounds_the_ids_made_from_then_on() -> None:
    before = time.time()
    floor = id_floor("msg", before)
    made = new_id("msg")
    assert floor <= made
    assert id_floor("msg", before - 1) < floor
    assert id_floor("msg", time.time() + 5) > made
