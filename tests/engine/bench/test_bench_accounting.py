"""The checks that count lost, garbled and duplicated messages do count them."""

from __future__ import annotations

from engine._bench._analysis import Run, account
from engine._bench._messages import Mix, kind_of, message_text, tag_of
from engine._bench._records import GeneratorRun, InboxEntry
from engine._bench._sink import SinkRecords

MIX = Mix()


def generated(indices: list[int]) -> GeneratorRun:
    n = len(indices)
    return GeneratorRun(
        indices=indices,
        due=[float(i) for i in indices],
        sent=[float(i) for i in indices],
        answered=[float(i) + 0.001 for i in indices],
        ok=[True] * n,
        sequence_numbers=[[] for _ in indices],
        message_ids=[],
        errors={},
        cpu_seconds=0.0,
    )


def text(index: int) -> str:
    return message_text(index, kind_of(index, MIX))


def test_every_text_carries_its_tag_and_the_mix_has_every_kind() -> None:
    kinds = {kind_of(index, MIX) for index in range(100)}
    assert kinds == {"gsm7", "ucs2", "multipart-gsm7", "multipart-ucs2"}
    for index in range(100):
        assert tag_of(text(index)) == index
    assert tag_of("no tag here") is None
    assert tag_of("garbled #１２") is None  # noqa: RUF001 (full-width digits)


def test_lost_garbled_and_duplicated_are_counted() -> None:
    inbox = [
        InboxEntry("m0", text(0), None, 1),
        InboxEntry("m1", text(1), None, 1),
        InboxEntry("m1b", text(1), None, 1),  # stored twice
        InboxEntry("m2", text(2).replace("code", "cod"), None, 1),  # garbled, tag intact
        InboxEntry("mx", "mangled beyond reading", None, 1),  # garbled, no tag
        # message 3 was never stored
    ]
    run = Run(
        label="measured", rate=1.0, generator=generated([0, 1, 2, 3]), sink=None, measured=True
    )
    result = account(MIX, [run], inbox)
    assert result.sent == result.acknowledged == 4
    assert result.stored == 2
    assert result.duplicated == 1
    assert result.garbled == 2
    assert result.lost == 1
    assert result.delivered is None


def test_deliveries_are_checked_against_the_texts_sent() -> None:
    inbox = [InboxEntry(f"m{i}", text(i), None, 1) for i in range(3)]
    sink = SinkRecords(
        arrivals=[1.0, 2.0, 3.0, 4.0],
        webhook_ids=["w0", "w0", "w1", "w2"],
        message_ids=["m0", "m0", "m1", "m2"],
        contents=[text(0), text(0), text(1)[:-1] + "X", text(2)],
        bad_signatures=1,
        connections=1,
        cpu_seconds=0.0,
    )
    run = Run(label="measured", rate=1.0, generator=generated([0, 1, 2]), sink=sink, measured=True)
    result = account(MIX, [run], inbox)
    assert result.lost == result.garbled == 0
    assert result.delivered == 2
    assert result.lost_in_delivery == 1
    assert result.garbled_in_delivery == 1
    assert result.duplicate_deliveries == 1
    assert result.bad_signatures == 1
