"""Scoring what arrived against what was sent, and the results section in RESULTS.md."""

from __future__ import annotations

from report import (
    BEGIN_MARKER,
    END_MARKER,
    PhaseResult,
    RunResult,
    SystemResult,
    render,
    splice_peers_section,
)
from score import score_phase
from sink import Arrival
from stream import build_stream

from engine.codec import gsm7_encode

STREAM = build_stream(2, 10)  # one message of each kind


def arrival(index: int, text: str | None, at: float, problem: str | None = None) -> Arrival:
    sender = STREAM[index].sender.removeprefix("+")
    return Arrival(system="x", arrival=at, sender=sender, text=text, problem=problem)


def test_lost_garbled_duplicates_and_strays_are_told_apart() -> None:
    by_kind = {m.kind: m for m in STREAM}
    raw_gsm7 = gsm7_encode(by_kind["gsm7-accents"].text).decode("latin-1")
    parts = by_kind["gsm7-2-parts"]
    arrivals = [
        arrival(0, STREAM[0].text, 1.0),
        arrival(0, STREAM[0].text, 1.5),  # a duplicate
        arrival(1, raw_gsm7, 2.0),  # raw GSM 7-bit code points
        arrival(5, parts.text[:153], 3.0),  # a multipart message in separate parts
        arrival(5, parts.text[153:], 3.1),
        arrival(3, STREAM[3].text, 4.0, "signature did not verify"),
        Arrival(system="x", arrival=5.0, sender="+15559000001", text="?"),  # another phase
        Arrival(system="x", arrival=5.0, sender="Acme", text="?"),
        *(arrival(i, STREAM[i].text, 5.0 + i) for i in (2, 4, 6, 7)),
    ]
    score = score_phase(STREAM, arrivals)
    assert (score.sent, score.requests) == (10, len(arrivals))
    assert score.lost == 2
    assert score.lost_kinds == {"gsm7-3-parts": 1, "ucs2-3-parts": 1}
    assert score.garbled == 3
    assert score.garbled_kinds == {"gsm7-accents": 1, "gsm7-2-parts": 1, "ucs2-emoji": 1}
    assert score.duplicates == 1
    assert score.strays == 2
    assert score.arrived == 8
    assert (score.first_arrival, score.last_arrival) == (1.0, 12.0)
    assert score.rate == 7 / 11
    assert score.latency_ms is None
    split = next(e for e in score.examples if e.kind == "gsm7-2-parts")
    assert split.received == [parts.text[:153], parts.text[153:]]


def test_latency_runs_from_the_due_time_to_the_text_or_the_last_fragment() -> None:
    due = {m.index: 100.0 + m.index for m in STREAM}
    arrivals = [arrival(m.index, m.text, due[m.index] + 0.002) for m in STREAM[:9]]
    arrivals.append(arrival(9, "first half", due[9] + 0.001))
    arrivals.append(arrival(9, "second half", due[9] + 0.5))
    score = score_phase(STREAM, arrivals, due)
    assert score.latency_ms is not None
    assert 1.99 <= score.latency_ms["50"] <= 2.01
    assert 499 <= score.latency_ms["max"] <= 501
    assert set(score.latency_ms) == {"50", "90", "99", "99.9", "max"}


def test_the_peers_section_replaces_its_block_or_is_appended() -> None:
    document = "# Benchmark results\n\n## Engine\n\nrows\n"
    once = splice_peers_section(document, "## Peers\n\nfirst\n")
    assert once.startswith(document.rstrip("\n"))
    assert once.count(BEGIN_MARKER) == once.count(END_MARKER) == 1
    twice = splice_peers_section(once + "\n## After\n", "## Peers\n\nsecond\n")
    assert "first" not in twice
    assert "second" in twice
    assert twice.count(BEGIN_MARKER) == 1
    assert twice.rstrip().endswith("## After")


def test_the_table_names_every_system_and_checks_the_targets() -> None:
    due = {m.index: float(m.index) for m in STREAM}
    exact = [arrival(m.index, m.text, due[m.index] + 0.004) for m in STREAM]
    fast = score_phase(STREAM, exact, due)
    slow = score_phase(STREAM, [arrival(m.index, m.text, m.index * 10.0) for m in STREAM])
    systems = [
        SystemResult(
            name="septet",
            phases={name: PhaseResult(score=fast) for name in ("sustained", "rate", "low-rate")},
            smpp_not_ok={},
        ),
        SystemResult(
            name="jasmin", phases={"sustained": PhaseResult(score=slow)}, smpp_not_ok={8: 1}
        ),
    ]
    args = {"rate": 1000.0, "low_rate": 100.0, "window": 64}
    machine = {"cpu": "CPU", "cores": "2", "kernel": "Linux", "python": "CPython", "date": "now"}
    table = render(RunResult(machine=machine, command="compare.py", args=args, systems=systems))
    assert "| septet | 1 | 4.0 / 4.0 / 4.0 | 4.0 / 4.0 / 4.0 | 0 of 30 | 0 | 0 |" in table
    assert "| jasmin | 0 | n/a | n/a | 0 of 10 | 0 | 0 |" in table
    assert "| Septet end-to-end p99 under 10 ms at 1000/s | 4.0 ms | yes |" in table
    assert "Jasmin's | 10.0x (1 / 0 msg/s) | yes |" in table
    assert "deliver_sm answers other than ESME_ROK: {8: 1}" in table


def test_the_sustained_rate_is_the_median_of_its_runs() -> None:
    def every(seconds: float) -> PhaseResult:
        # Ten messages, one every ``seconds``: a rate of 1 / seconds.
        arrived = [arrival(m.index, m.text, m.index * seconds) for m in STREAM]
        return PhaseResult(score=score_phase(STREAM, arrived))

    lost_one = PhaseResult(score=score_phase(STREAM, [arrival(0, STREAM[0].text, 0.0)]))
    septet = SystemResult(
        name="septet",
        phases={
            "warm-up": lost_one,  # not counted
            "sustained": every(0.25),
            "sustained-2": every(1.0),
            "sustained-3": every(0.5),
            "rate": lost_one,
        },
        smpp_not_ok={},
    )
    jasmin = SystemResult(name="jasmin", phases={"sustained": every(5.0)}, smpp_not_ok={})
    args = {"rate": 1000.0, "low_rate": 100.0, "window": 64, "sustained_runs": 3}
    machine = {"cpu": "CPU", "cores": "2", "kernel": "Linux", "python": "CPython", "date": "now"}
    table = render(RunResult(machine=machine, command="c", args=args, systems=[septet, jasmin]))
    # The median of 4, 1 and 2 msg/s; the lost count covers every run and the rate phase.
    assert "| septet | 2 | n/a | n/a | 9 of 40 | 0 | 0 |" in table
    assert "sustained runs: 4 / 1 / 2 msg/s (the table shows their median)" in table
    assert "Jasmin's | 10.0x (2 / 0 msg/s) | yes |" in table
    assert "the median of 3 run(s)" in table
    # A system run once has nothing to note about its runs.
    assert "- **jasmin**: nothing to note." in table
