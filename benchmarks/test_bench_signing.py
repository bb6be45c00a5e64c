"""Signing and verifying one webhook of about 1 KB, against standardwebhooks and stdlib hmac.

Every row first checks that its signature is the one the others produce, so all
rows measure the same, correct work.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from engine import signing

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
KEY = base64.b64decode(SECRET.removeprefix("whsec_"))
MSG_ID = "msg_2b9QdKfXw3LMvYpT7nHc0aRs"
BODY_TEXT = json.dumps(
    {
        "type": "sms.received",
        "data": {
            "id": "01J9ZQ4M6W3XK7T8B2C5D9E0FG",
            "from": "+15550100",
            "to": "+15550199",
            "text": "Your verification code is 482910. It expires in 10 minutes. " * 8,
            "received_at": "2026-05-09T07:29:33Z",
            "parts": 4,
            "encoding": "gsm7",
        },
    }
)
BODY = BODY_TEXT.encode()


def _stdlib_sign(timestamp: int) -> str:
    content = f"{MSG_ID}.{timestamp}.".encode() + BODY
    return "v1," + base64.b64encode(hmac.new(KEY, content, hashlib.sha256).digest()).decode()


def _septet_sign() -> Callable[[int], str]:
    return lambda timestamp: signing.sign(SECRET, MSG_ID, timestamp, BODY)


def _standardwebhooks_sign() -> Callable[[int], str]:
    webhooks = pytest.importorskip("standardwebhooks.webhooks")
    webhook = webhooks.Webhook(SECRET)
    return lambda timestamp: str(
        webhook.sign(MSG_ID, datetime.fromtimestamp(timestamp, UTC), BODY_TEXT)
    )


def _septet_verify() -> Callable[[int, str], None]:
    def verify(timestamp: int, signature: str) -> None:
        signing.verify(SECRET, MSG_ID, str(timestamp), BODY, signature)

    return verify


def _standardwebhooks_verify() -> Callable[[int, str], None]:
    webhooks = pytest.importorskip("standardwebhooks.webhooks")
    webhook = webhooks.Webhook(SECRET)

    def verify(timestamp: int, signature: str) -> None:
        received = {
            "webhook-id": MSG_ID,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature,
        }
        webhook.verify(BODY, received, json_parse=False)

    return verify


def _stdlib_verify() -> Callable[[int, str], None]:
    def verify(timestamp: int, signature: str) -> None:
        if not hmac.compare_digest(_stdlib_sign(timestamp), signature):
            raise ValueError("signature mismatch")

    return verify


SIGNERS: dict[str, Callable[[], Callable[[int], str]]] = {
    "septet": _septet_sign,
    "standardwebhooks": _standardwebhooks_sign,
    "stdlib_hmac": lambda: _stdlib_sign,
}
VERIFIERS: dict[str, Callable[[], Callable[[int, str], None]]] = {
    "septet": _septet_verify,
    "standardwebhooks": _standardwebhooks_verify,
    "stdlib_hmac": _stdlib_verify,
}


def test_body_is_about_one_kilobyte() -> None:
    assert 900 <= len(BODY) <= 1200


@pytest.mark.parametrize("peer", sorted(SIGNERS))
def test_sign(benchmark: pytest.FixtureRequest, peer: str) -> None:
    sign = SIGNERS[peer]()
    timestamp = int(datetime.now(UTC).timestamp())
    assert sign(timestamp) == _stdlib_sign(timestamp)
    benchmark.group = "signing"
    benchmark.name = f"{peer} sign"
    benchmark(sign, timestamp)


@pytest.mark.parametrize("peer", sorted(VERIFIERS))
def test_verify(benchmark: pytest.FixtureRequest, peer: str) -> None:
    verify = VERIFIERS[peer]()
    # standardwebhooks checks against the real clock, so the timestamp is now.
    timestamp = int(datetime.now(UTC).timestamp())
    signature = _stdlib_sign(timestamp)
    verify(timestamp, signature)
    with pytest.raises(Exception):  # noqa: B017, PT011 (each peer has its own error type)
        verify(timestamp, _stdlib_sign(timestamp + 1))
    benchmark.group = "signing"
    benchmark.name = f"{peer} verify"
    benchmark(verify, timestamp, signature)
