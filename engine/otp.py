"""One-time codes: find the code a person would type in an SMS.

:func:`extract` looks at one message and returns an :class:`Otp`, or ``None`` when the
message carries no code. :func:`extract_many` does the same for many messages at once
and releases the GIL while it works, so other threads keep running.

What counts as a code:

* the code of an origin-bound last line (``@example.com #123456``, the WICG
  ``sms-one-time-codes`` format), exactly as written, with its ``origin`` and, after
  ``%``, its ``embedded_origin``; confidence is then 1;
* otherwise a code-shaped token near a code word (``code``, ``OTP``, ``Bestätigungscode``,
  ``код``, ``验证码``, ``รหัส``, ``인증번호``... in many languages): 4 to 8 digits,
  two equal digit groups (``318-502``), letters and digits (``VN6X8``), or a code after
  an upper-case prefix (``G-345821``). Amounts, dates, times, phone numbers, years,
  durations, links, and numbers labelled as references, orders, tracking or
  accounts are never codes.

The :attr:`Otp.code` is what a person types: digits of any script (full-width,
Arabic-Indic, Thai...) as ASCII digits, group separators and letter prefixes dropped,
letters kept with their case. :attr:`Otp.start` and :attr:`Otp.end` are ``str``
indices into the text that was passed in, so ``text[otp.start:otp.end]`` is the code as
written (``318-502``, or full-width digits as they were). :attr:`Otp.confidence` runs
from 0 to 1: how strongly the context says this is a code (about 0.9 next to a specific
code word, about 0.5 for a bare "enter 1234"); codes scoring under 0.45 are not reported.

::

    otp = extract("Your verification code is 318-502.")
    assert otp is not None and otp.code == "318502"
"""

from __future__ import annotations

from collections.abc import Iterable

from engine._native import Otp as Otp
from engine._native import extract_otp as _extract_otp
from engine._native import extract_otp_many as _extract_otp_many

__all__ = ["Otp", "extract", "extract_many"]


def extract(text: str) -> Otp | None:
    """Return the one-time code of ``text``, or ``None`` when it has none.

    The result's ``code`` is the code as typed, ``text[start:end]`` the code as
    written, ``confidence`` a score from 0 to 1, and ``origin`` and
    ``embedded_origin`` the hosts of an origin-bound last line (else ``None``).
    """
    return _extract_otp(text)


def extract_many(texts: Iterable[str]) -> list[Otp | None]:
    """Return the one-time code of each text, in order (``None`` where there is none).

    The texts are copied once, then searched with the GIL released, so a large batch
    does not hold up other threads. Equivalent to ``[extract(t) for t in texts]``.
    """
    batch = texts if isinstance(texts, list) else list(texts)
    return _extract_otp_many(batch)
