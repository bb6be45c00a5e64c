"""Code extraction: a labelled multilingual corpus, origin-bound lines, AOSP-style shapes,
spans, the batch entry point, properties, and the Thai corpus when it is present."""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import otp
from engine.otp import Otp, extract, extract_many

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "otp_corpus.jsonl"
THAI_CORPUS = ROOT.parent / "shared" / "data" / "otp-corpus-thai"


def _corpus() -> list[dict[str, str | None]]:
    with CORPUS.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _alnum(text: str) -> str:
    """The letters and digits of ``text``, digits of any script as ASCII."""
    return "".join(str(int(c)) if c.isdecimal() else c for c in text if c.isalnum())


def _eval_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("otp_eval", ROOT / "benchmarks" / "otp_eval.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_public_surface() -> None:
    assert otp.__all__ == sorted(otp.__all__)
    assert set(otp.__all__) == {"Otp", "extract", "extract_many"}


def test_corpus_is_large_and_multilingual() -> None:
    rows = _corpus()
    assert len(rows) >= 300
    assert len({row["lang"] for row in rows}) >= 15
    assert sum(row["code"] is None for row in rows) >= 100


@pytest.mark.parametrize("row", _corpus(), ids=lambda row: f"{row['lang']}:{row['text'][:40]}")
def test_corpus_message(row: dict[str, str | None]) -> None:
    text = row["text"]
    assert text is not None
    found = extract(text)
    if row["code"] is None:
        assert found is None, found
        return
    assert found is not None
    assert found.code == row["code"]
    assert found.origin == row.get("origin")
    assert found.embedded_origin == row.get("embedded_origin")
    assert 0.0 < found.confidence <= 1.0
    written = text[found.start : found.end]
    assert _alnum(written) == found.code or written == found.code


def test_origin_bound_line() -> None:
    text = "747723 is your ExampleCo authentication code.\n\n@example.com #747723 %pay.example"
    found = extract(text)
    assert found == extract(text)
    assert found is not None
    assert (found.code, found.origin, found.embedded_origin) == (
        "747723",
        "example.com",
        "pay.example",
    )
    assert found.confidence == 1.0
    assert text[found.start : found.end] == "747723"
    assert found.start == text.rindex("747723")


@pytest.mark.parametrize(
    "text",
    [
        "@example.com  #123456",  # two spaces
        "Your code\n@ #123456",  # empty host
        "Your code\n@example.com #",  # empty code
        "code @example.com #123456",  # text before '@'
    ],
)
def test_malformed_origin_lines_are_not_origin_bound(text: str) -> None:
    found = extract(text)
    assert found is None or found.origin is None


@pytest.mark.parametrize(
    ("shape", "code"),
    [
        ("123G5", "123G5"),
        ("1235", "1235"),
        ("123456F8", "123456F8"),
        ("123 456", "123456"),
        ("G-3d523", "3d523"),
        ("2109", "2109"),
        ("3035", "3035"),
        ("1899", "1899"),
    ],
)
def test_aosp_accepted_shapes(shape: str, code: str) -> None:
    found = extract(f"Your code is {shape}")
    assert found is not None
    assert found.code == code


@pytest.mark.parametrize(
    "shape",
    [
        "123G",
        "123",
        "123T56789",
        "12 345",
        "TEFHXES",
        "6--7893",
        "123码456",
        "01-01-2001",
        "1-1-01",
    ],
)
def test_aosp_rejected_shapes(shape: str) -> None:
    assert extract(f"Your code is {shape}") is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("your code is:G-345821", "345821"),
        ("[G-345821 is your code", "345821"),
        ("your code isG-345821", None),
        ("your code is4:G-345821", None),
        ("Meeting in 2009", None),
        ("Born in 1945, she", None),
    ],
)
def test_aosp_context_cases(text: str, code: str | None) -> None:
    found = extract(text)
    assert (found.code if found else None) == code


def test_spans_are_str_indices_with_non_ascii_text() -> None:
    text = "🙂🙂 รหัสยืนยันของคุณคือ ๓๑๘-๕๐๒ นะ"
    found = extract(text)
    assert found is not None
    assert found.code == "318502"
    assert text[found.start : found.end] == "๓๑๘-๕๐๒"
    full_width = "\uff11\uff12\uff13\uff14\uff15\uff16"
    text = f"Código: FB-{full_width}"
    found = extract(text)
    assert found is not None
    assert found.code == "123456"
    assert text[found.start : found.end] == full_width


def test_otp_is_a_frozen_value() -> None:
    found = extract("Your code is 482913")
    assert isinstance(found, Otp)
    assert found == extract("Your code is 482913")
    assert found != extract("Your code is 482914")
    assert hash(found) == hash(extract("Your code is 482913"))
    assert repr(found).startswith('Otp(code="482913"')
    with pytest.raises(AttributeError):
        found.code = "1"  # type: ignore[misc]


def test_extract_many_equals_extract() -> None:
    texts = [str(row["text"]) for row in _corpus()]
    assert extract_many(texts) == [extract(t) for t in texts]
    assert extract_many(iter(texts[:5])) == [extract(t) for t in texts[:5]]
    assert extract_many([]) == []


def test_extract_many_runs_alongside_other_threads() -> None:
    texts = [str(row["text"]) for row in _corpus()] * 20
    results: list[list[Otp | None]] = []
    workers = [
        threading.Thread(target=lambda: results.append(extract_many(texts))) for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(results) == 3
    assert all(r == results[0] for r in results)


@given(st.text(max_size=300))
def test_random_text_never_raises(text: str) -> None:
    found = extract(text)
    if found is not None:
        assert 0 <= found.start < found.end <= len(text)
        assert 0.0 <= found.confidence <= 1.0
        if found.origin is None:
            assert _alnum(text[found.start : found.end]) == found.code


@given(
    st.text(alphabet="0123456789 -:./,#<>@()Gcodeisรหัส\u0660\u0661\u0e53\uff14", max_size=40),
    st.from_regex(r"[0-9]{4,8}", fullmatch=True),
)
def test_codes_come_from_their_span(noise: str, digits: str) -> None:
    text = f"{noise} your code is {digits} {noise}"
    found = extract(text)
    if found is not None and found.origin is None:
        assert _alnum(text[found.start : found.end]) == found.code


def test_thai_corpus_precision_and_recall() -> None:
    if not THAI_CORPUS.is_dir():
        pytest.skip(
            f"Thai OTP corpus not found at {THAI_CORPUS}: the shared data directory is absent"
        )
    result = _eval_module().evaluate(THAI_CORPUS)
    assert result.messages > 1000
    assert result.precision >= 0.98, result.false_positives
    assert result.recall >= 0.97, result.false_negatives
