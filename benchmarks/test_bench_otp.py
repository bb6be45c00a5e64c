"""Code extraction per message, against otp-message-extractor and a plain regex.

Each row extracts from the same few typical messages (English, Thai, Chinese, Spanish,
and one without a code); the time reported is for the whole set, so divide by
``len(MESSAGES)`` for one message. The batch row runs ``extract_many`` on 1000
messages in one call.
"""

from __future__ import annotations

import re

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from engine.otp import extract, extract_many

MESSAGES = [
    "Your verification code is 482913. It expires in 10 minutes. Don't share it.",
    "รหัส OTP ของคุณคือ 551234 (Ref: QWER) ใช้ได้ภายใน 5 นาที",
    "【Acme】验证码\uff1a660143\uff0c5分钟内有效\uff0c请勿泄露给他人。",
    "Tu código de verificación es 7731. No lo compartas con nadie.",
    "Your order #48213 has shipped and will arrive on 12/05/2024 before 18:00.",
]
BATCH = MESSAGES * 200

NAIVE = re.compile(r"(?<!\d)\d{4,8}(?!\d)")


def _naive(text: str) -> str | None:
    match = NAIVE.search(text)
    return match.group() if match else None


@pytest.mark.benchmark(group="otp")
def test_septet_extract(benchmark: BenchmarkFixture) -> None:
    benchmark.extra_info["items"] = len(MESSAGES)
    found = benchmark(lambda: [extract(text) for text in MESSAGES])
    assert [o.code if o else None for o in found] == ["482913", "551234", "660143", "7731", None]


@pytest.mark.benchmark(group="otp")
def test_septet_extract_many_1000(benchmark: BenchmarkFixture) -> None:
    benchmark.extra_info["items"] = len(BATCH)
    found = benchmark(extract_many, BATCH)
    assert len(found) == 1000


@pytest.mark.benchmark(group="otp")
def test_plain_regex(benchmark: BenchmarkFixture) -> None:
    benchmark.extra_info["items"] = len(MESSAGES)
    found = benchmark(lambda: [_naive(text) for text in MESSAGES])
    assert found[0] == "482913"


@pytest.mark.benchmark(group="otp")
def test_otp_message_extractor(benchmark: BenchmarkFixture) -> None:
    peer = pytest.importorskip("otp_message_extractor")
    benchmark.extra_info["items"] = len(MESSAGES)
    found = benchmark(lambda: [peer.extract_otp(text) for text in MESSAGES])
    assert found[0] is not None
    assert found[0]["code"] == "482913"
