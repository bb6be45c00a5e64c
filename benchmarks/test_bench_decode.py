"""Decoding one PDU, and a batch of 1000, against the Python peers in the same run.

Each benchmark first checks that the decoder under test returns the right text, so
every row measures a correct decode of the same input.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pdus import GSM7_160, GSM7_160_TEXT, UCS2_70, UCS2_70_TEXT

from engine import codec

CASES = {
    "gsm7-160": (GSM7_160, GSM7_160_TEXT),
    "ucs2-70": (UCS2_70, UCS2_70_TEXT),
}
BATCH = 1000


def _smspdudecoder() -> Callable[[str], str]:
    easy = pytest.importorskip("smspdudecoder.easy")
    return lambda pdu: str(easy.read_incoming_sms(pdu)["content"])


def _python_messaging() -> Callable[[str], str]:
    sms = pytest.importorskip("messaging.sms")
    return lambda pdu: str(sms.SmsDeliver(pdu).text)


def _gsmmodem() -> Callable[[str], str]:
    pdu_module = pytest.importorskip("gsmmodem.pdu")
    return lambda pdu: str(pdu_module.decodeSmsPdu(pdu)["text"])


def _septet_hex() -> Callable[[str], str]:
    return lambda pdu: codec.decode_pdu(pdu).text or ""


PEERS: dict[str, Callable[[], Callable[[str], str]]] = {
    "septet": _septet_hex,
    "smspdudecoder": _smspdudecoder,
    "python_messaging": _python_messaging,
    "python_gsmmodem_new": _gsmmodem,
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("peer", sorted(PEERS))
def test_decode(benchmark: pytest.FixtureRequest, peer: str, case: str) -> None:
    pdu, text = CASES[case]
    decode = PEERS[peer]()
    assert decode(pdu) == text
    benchmark.group = f"decode-{case}"
    benchmark.name = f"{peer} decode {case}"
    benchmark(decode, pdu)


def test_septet_decode_bytes(benchmark: pytest.FixtureRequest) -> None:
    data = bytes.fromhex(GSM7_160)
    assert codec.decode_pdu(data).text == GSM7_160_TEXT
    benchmark.group = "decode-gsm7-160"
    benchmark.name = "septet decode gsm7-160 from bytes"
    benchmark(codec.decode_pdu, data)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("peer", sorted(PEERS))
def test_decode_batch(benchmark: pytest.FixtureRequest, peer: str, case: str) -> None:
    pdu, text = CASES[case]
    batch = [pdu] * BATCH
    if peer == "septet":
        assert [s.text for s in codec.decode_pdus(batch)] == [text] * BATCH

        def run() -> object:
            return codec.decode_pdus(batch)

    else:
        decode = PEERS[peer]()
        assert decode(pdu) == text

        def run() -> object:
            return [decode(p) for p in batch]

    benchmark.group = f"decode-batch-1000-{case}"
    benchmark.name = f"{peer} batch of 1000 {case}"
    benchmark.extra_info["items"] = BATCH
    benchmark(run)


def test_septet_decode_batch_bytes(benchmark: pytest.FixtureRequest) -> None:
    batch = [bytes.fromhex(GSM7_160)] * BATCH
    benchmark.group = "decode-batch-1000-gsm7-160"
    benchmark.name = "septet batch of 1000 gsm7-160 from bytes"
    benchmark.extra_info["items"] = BATCH
    benchmark(codec.decode_pdus, batch)
