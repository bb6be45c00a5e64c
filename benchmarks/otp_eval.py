"""Precision and recall of Septet's code extraction on a labelled SMS corpus.

The corpus is a folder of ``*.txt`` files with one ``LABEL|text`` message per line; a
message is positive when its label is ``OTP``. Scoring is per message: a true
positive is a positive message in which a code was found (whichever code), a false
positive a negative message in which one was found.

    python benchmarks/otp_eval.py [PATH] [--show-errors]

PATH defaults to the Thai corpus of the shared data folder next to the repository.
When otp-message-extractor is installed it is scored too (at confidence >= 0.7), for
comparison.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from engine.otp import extract_many

__all__ = ["DEFAULT_CORPUS", "Result", "evaluate", "load", "main"]

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "otp-corpus-thai"


@dataclass(frozen=True, kw_only=True)
class Result:
    """Message-level counts; ``false_positives``/``false_negatives`` hold the texts."""

    messages: int
    positives: int
    true_positives: int
    false_positives: list[str] = field(default_factory=list)
    false_negatives: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        found = self.true_positives + len(self.false_positives)
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.positives if self.positives else 1.0


def load(path: Path) -> Iterator[tuple[bool, str]]:
    """Yield ``(is_otp, text)`` for every ``LABEL|text`` line of the corpus files."""
    for file in sorted(path.glob("*.txt")):
        if file.name.upper().startswith("LICENSE"):
            continue
        for line in file.read_text(encoding="utf-8").splitlines():
            label, sep, text = line.partition("|")
            if sep:
                yield label.strip().upper() == "OTP", text


def _septet_finder(texts: list[str]) -> list[bool]:
    return [otp is not None for otp in extract_many(texts)]


def evaluate(path: Path, finder: Callable[[list[str]], list[bool]] | None = None) -> Result:
    """Score ``finder`` (default: Septet's ``extract_many``) on the corpus at ``path``."""
    messages = list(load(path))
    texts = [text for _, text in messages]
    if finder is None:
        finder = _septet_finder
    found = finder(texts)
    true_positives = 0
    false_positives: list[str] = []
    false_negatives: list[str] = []
    for (positive, text), hit in zip(messages, found, strict=True):
        if positive and hit:
            true_positives += 1
        elif positive:
            false_negatives.append(text)
        elif hit:
            false_positives.append(text)
    return Result(
        messages=len(messages),
        positives=sum(positive for positive, _ in messages),
        true_positives=true_positives,
        false_positives=false_positives,
        false_negatives=false_negatives,
    )


def _peer_finder() -> Callable[[list[str]], list[bool]] | None:
    try:
        from otp_message_extractor import extract_otp
    except ImportError:
        return None

    def find(texts: list[str]) -> list[bool]:
        results = [extract_otp(text) for text in texts]
        return [r is not None and r["confidence"] >= 0.7 for r in results]

    return find


def _report(name: str, result: Result, show_errors: bool) -> None:
    print(f"{name}:")
    print(
        f"  messages {result.messages} (OTP {result.positives}, "
        f"other {result.messages - result.positives})"
    )
    print(
        f"  TP {result.true_positives}  FP {len(result.false_positives)}  "
        f"FN {len(result.false_negatives)}"
    )
    print(f"  precision {result.precision:.4f}  recall {result.recall:.4f}")
    if show_errors:
        for text in result.false_positives:
            print(f"  FP | {text}")
        for text in result.false_negatives:
            print(f"  FN | {text}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--show-errors", action="store_true", help="print every FP and FN")
    args = parser.parse_args(argv)
    if not args.path.is_dir():
        parser.error(f"corpus not found at {args.path}")
    _report("septet", evaluate(args.path), args.show_errors)
    peer = _peer_finder()
    if peer is not None:
        _report("otp-message-extractor >= 0.7", evaluate(args.path, peer), args.show_errors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
