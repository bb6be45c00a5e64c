"""Every transcribed public decoding vector, through the Python face.

The vectors live in ``tests/data/pdu_vectors.json``, each with the public test suite it
comes from (or how it was derived) and, where a source or a peer gets it wrong, a note
saying why. The native crate checks the same file with ``cargo test``; this checks what
a Python caller sees: types, aware datetimes, flags, errors and offsets.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine import codec, errors

DATA = json.loads((Path(__file__).resolve().parents[1] / "data" / "pdu_vectors.json").read_text())
VECTORS: list[dict[str, Any]] = DATA["vectors"]
BY_ID = {v["id"]: v for v in VECTORS}
REASSEMBLY: list[dict[str, Any]] = DATA["reassembly"]

ERROR_CLASSES = {
    "Hex": errors.HexError,
    "Pdu": errors.PduError,
    "Gsm7": errors.Gsm7Error,
    "Ucs2": errors.Ucs2Error,
}


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _validity(sms: codec.Sms) -> object:
    vp = sms.validity_period
    if isinstance(vp, timedelta):
        return {"relative_minutes": int(vp.total_seconds()) // 60}
    if isinstance(vp, datetime):
        return {"absolute": vp.isoformat()}
    if isinstance(vp, bytes):
        return {"enhanced": vp.hex().upper()}
    return None


MWI_KINDS = {"voicemail": 0, "fax": 1, "email": 2, "other": 3}

# How each expected field is read off a decoded Sms.
FIELDS: dict[str, Any] = {
    "kind": lambda s: s.kind,
    "smsc": lambda s: None if s.smsc is None else s.smsc.value,
    "address": lambda s: {"value": s.address.value, "ton": s.address.ton, "npi": s.address.npi},
    "pid": lambda s: s.pid,
    "dcs": lambda s: s.dcs,
    "alphabet": lambda s: s.encoding,
    "scts": lambda s: _iso(s.sent_at),
    "discharge_time": lambda s: _iso(s.discharge_time),
    "text": lambda s: s.text,
    "flags": lambda s: sorted(s.flags),
    "udl": lambda s: s.udl,
    "status": lambda s: s.status,
    "message_reference": lambda s: s.message_reference,
    "message_class": lambda s: s.message_class,
    "locking_shift": lambda s: s.locking_shift,
    "single_shift": lambda s: s.single_shift,
    "concat": lambda s: (
        None
        if s.concat is None
        else {
            "reference": s.concat.reference,
            "reference_bits": s.concat.reference_bits,
            "total": s.concat.total,
            "seq": s.concat.seq,
        }
    ),
    "udh": lambda s: [{"iei": e.iei, "data": e.data.hex().upper()} for e in s.udh],
    "mwi": lambda s: (
        None
        if s.mwi is None
        else {"active": s.mwi.active, "kind": MWI_KINDS[s.mwi.kind], "store": s.mwi.store}
    ),
    "indications": lambda s: [
        {"kind": MWI_KINDS[i.kind], "count": i.count, "store": i.store, "profile": i.profile}
        for i in s.indications
    ],
    "ports": lambda s: None if s.ports is None else list(s.ports),
    "user_data_hex": lambda s: s.user_data.hex().upper(),
    "validity_period": _validity,
}


def _normalise(key: str, value: object) -> object:
    if key in ("udh",) and isinstance(value, list):
        return [{**e, "data": str(e["data"]).upper()} for e in value]
    if key == "user_data_hex" and isinstance(value, str):
        return value.upper()
    if key == "flags" and isinstance(value, list):
        return sorted(value)
    return value


def decode(vector: dict[str, Any]) -> codec.Sms:
    smsc = {"smsc+tpdu": True, "tpdu": False}.get(vector.get("form", ""))
    return codec.decode_pdu(vector["pdu_hex"], smsc=smsc, tpdu_length=vector.get("tpdu_length"))


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_vector(vector: dict[str, Any]) -> None:
    expected = vector["expected"]
    if "error" in expected:
        cls = ERROR_CLASSES[expected["error"]["kind"]]
        with pytest.raises(cls) as info:
            decode(vector)
        assert info.value.offset == expected["error"]["offset"]
        assert info.value.reason
        return
    sms = decode(vector)
    unknown = set(expected) - set(FIELDS)
    assert not unknown, f"no reader for expected fields {unknown}"
    for key, want in expected.items():
        got = FIELDS[key](sms)
        assert got == _normalise(key, want), f"{vector['id']}: {key}"


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_vector_decodes_the_same_from_bytes_and_in_a_batch(vector: dict[str, Any]) -> None:
    if "error" in vector["expected"]:
        return
    from_hex = decode(vector)
    smsc = {"smsc+tpdu": True, "tpdu": False}.get(vector.get("form", ""))
    from_bytes = codec.decode_pdu(
        bytes.fromhex(vector["pdu_hex"]), smsc=smsc, tpdu_length=vector.get("tpdu_length")
    )
    assert from_bytes == from_hex
    if vector.get("tpdu_length") is None:
        (batched,) = codec.decode_pdus([vector["pdu_hex"]], smsc=smsc)
        assert batched == from_hex


@pytest.mark.parametrize("group", REASSEMBLY, ids=[g["id"] for g in REASSEMBLY])
def test_reassembly_group(group: dict[str, Any]) -> None:
    parts = [decode(BY_ID[part_id]) for part_id in group["parts"]]
    for order in (parts, parts[::-1]):
        joined = codec.reassemble(order)
        assert joined.text == group["expected_text"]
        assert joined.total == group["expected_total"]
        assert joined.missing == group["expected_missing"]


def test_every_vector_names_its_source() -> None:
    for vector in VECTORS:
        assert vector["source"], vector["id"]
    for group in REASSEMBLY:
        assert group["source"], group["id"]
