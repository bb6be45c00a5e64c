"""Putting SMS text into chat messages: escaped, and cut to the chat's length limits.

An SMS is written by whoever sent it, so in a chat message it is data, never markup:
each character goes through the chat's escape, and a text too long for a field is cut
between escaped characters (never inside an escape sequence) with a visible marker.

Lengths are counted in UTF-16 code units, as JavaScript counts them: at least as many
as code points, so the text fits whichever way a service counts.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Final

__all__ = ["TRUNCATED", "discord_escape", "fit_escaped", "slack_escape", "utf16_length"]

TRUNCATED: Final = "…[truncated]"
"""What ends a text that was cut."""

_SLACK_ENTITIES: Final = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Discord (simple-markdown) shows any backslash-escaped ASCII punctuation literally, so
# escaping all of it covers every markdown, mention, emoji and timestamp syntax at once.
_DISCORD_SPECIAL: Final = frozenset(string.punctuation)


def slack_escape(char: str) -> str:
    """One character for Slack mrkdwn: ``& < >`` as entities (they start links and
    mentions such as ``<!channel>``)."""
    return _SLACK_ENTITIES.get(char, char)


def discord_escape(char: str) -> str:
    """One character for Discord markdown: ASCII punctuation backslash-escaped."""
    return "\\" + char if char in _DISCORD_SPECIAL else char


def utf16_length(text: str) -> int:
    """The length of ``text`` in UTF-16 code units."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def fit_escaped(
    text: str, escape: Callable[[str], str], limit: int, *, marker: str = TRUNCATED
) -> str:
    """``text`` escaped character by character, within ``limit`` UTF-16 code units.

    When the escaped text is longer, as many whole escaped characters as fit are kept
    and ``marker`` ends it, the whole still within ``limit``.
    """
    pieces = [escape(char) for char in text]
    lengths = [utf16_length(piece) for piece in pieces]
    if sum(lengths) <= limit:
        return "".join(pieces)
    budget = limit - utf16_length(marker)
    kept: list[str] = []
    for piece, length in zip(pieces, lengths, strict=True):
        if length > budget:
            break
        kept.append(piece)
        budget -= length
    return "".join(kept) + marker
