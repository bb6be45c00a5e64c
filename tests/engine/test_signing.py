"""Webhook signing: the spec's vector, the reference library as oracle, and the carrier primitives.

The Standard Webhooks reference implementation for Python (the ``standardwebhooks``
package) is the oracle: what Septet signs must verify there, and what it signs must
verify here.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from engine import signing
from engine.errors import (
    MalformedSignatureError,
    SignatureError,
    SignatureMismatchError,
    TimestampToleranceError,
)

# The Standard Webhooks spec's example (spec/standard-webhooks.md in
# standard-webhooks/standard-webhooks; it is the Svix documentation example that the
# reference libraries' tests reuse).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
SPEC_KEY = base64.b64decode(SPEC_SECRET.removeprefix("whsec_"))

# RFC 8032 section 7.1, TEST 1, 2 and 3: (public key, message, signature), hex.
RFC8032_VECTORS = [
    (
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
        "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]

ALGORITHMS: list[signing.HmacAlgorithm] = ["md5", "sha1", "sha256", "sha512"]

# Ids as the spec allows them: anything but '.', and text Python can encode.
ids = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="."),
    min_size=1,
    max_size=60,
)


def _verify_spec(signature: str = SPEC_SIGNATURE, /, **overrides: object) -> None:
    arguments: dict[str, object] = {
        "secret": SPEC_SECRET,
        "msg_id": SPEC_ID,
        "timestamp": str(SPEC_TIMESTAMP),
        "body": SPEC_BODY,
        "signature": signature,
        "now": SPEC_TIMESTAMP,
    }
    arguments.update(overrides)
    signing.verify(**arguments)  # type: ignore[arg-type]


# --- the spec's vector ----------------------------------------------------------


def test_spec_vector_matches_stdlib_hmac() -> None:
    assert len(SPEC_KEY) == 24
    content = f"{SPEC_ID}.{SPEC_TIMESTAMP}.".encode() + SPEC_BODY
    mac = hmac.new(SPEC_KEY, content, hashlib.sha256).digest()
    assert "v1," + base64.b64encode(mac).decode() == SPEC_SIGNATURE


@pytest.mark.parametrize(
    "secret", [SPEC_SECRET, SPEC_SECRET.removeprefix("whsec_"), SPEC_KEY], ids=repr
)
def test_spec_vector_signs_and_verifies(secret: signing.Secret) -> None:
    assert signing.sign(secret, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE
    assert signing.sign(secret, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY.decode()) == SPEC_SIGNATURE
    at = datetime.fromtimestamp(SPEC_TIMESTAMP, UTC)
    assert signing.sign(secret, SPEC_ID, at, SPEC_BODY) == SPEC_SIGNATURE
    _verify_spec(secret=secret)


# --- the reference library as oracle --------------------------------------------


def test_septet_headers_verify_with_standardwebhooks() -> None:
    secret = signing.generate_secret()
    body = '{"from": "+15550100", "text": "Your code is 123456"}'
    sent = signing.headers(secret, "msg_2b9QdK", body)
    assert set(sent) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert sent["webhook-id"] == "msg_2b9QdK"
    assert abs(int(sent["webhook-timestamp"]) - time.time()) < 5
    assert Webhook(secret).verify(body, sent) == {
        "from": "+15550100",
        "text": "Your code is 123456",
    }
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.generate_secret()).verify(body, sent)


def test_standardwebhooks_signatures_verify_with_septet() -> None:
    webhook = Webhook(SPEC_SECRET)
    now = datetime.now(UTC).replace(microsecond=0)
    theirs = webhook.sign("msg_abc", now, '{"a": 1}')
    signing.verify(SPEC_SECRET, "msg_abc", str(int(now.timestamp())), b'{"a": 1}', theirs)
    signing.verify(SPEC_KEY, "msg_abc", int(now.timestamp()), '{"a": 1}', theirs)


@given(msg_id=ids, body=st.text(max_size=500), secret=st.binary(min_size=1, max_size=64))
def test_round_trip_against_the_oracle(msg_id: str, body: str, secret: bytes) -> None:
    now = int(time.time())
    ours = signing.headers(secret, msg_id, body, timestamp=now)
    Webhook(secret).verify(body, ours, json_parse=False)
    theirs = Webhook(secret).sign(msg_id, datetime.fromtimestamp(now, UTC), body)
    assert theirs == ours["webhook-signature"]
    signing.verify(secret, msg_id, str(now), body, theirs, now=now)


@given(msg_id=ids, body=st.binary(max_size=2000), timestamp=st.integers(0, 2**40))
def test_round_trip_any_bytes(msg_id: str, body: bytes, timestamp: int) -> None:
    signature = signing.sign(SPEC_KEY, msg_id, timestamp, body)
    signing.verify(SPEC_KEY, msg_id, str(timestamp), body, signature, now=timestamp, tolerance=0)
    with pytest.raises(SignatureMismatchError):
        signing.verify(SPEC_KEY, msg_id, str(timestamp), body + b"!", signature, now=timestamp)


# --- rotation --------------------------------------------------------------------


def test_rotation_signs_with_every_secret_and_verifies_with_any() -> None:
    old, new = SPEC_SECRET, signing.generate_secret()
    both = signing.sign([new, old], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)
    first, second = both.split(" ")
    assert first == signing.sign(new, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)
    assert second == SPEC_SIGNATURE
    for secrets in ([old], [new], [new, old], (old, new)):
        _verify_spec(both, secret=secrets)
    # A receiver that already holds both accepts a sender still on the old secret.
    _verify_spec(SPEC_SIGNATURE, secret=[new, old])
    with pytest.raises(SignatureMismatchError):
        _verify_spec(both, secret=signing.generate_secret())
    # The reference library accepts a rotation header too.
    now = int(time.time())
    sent = signing.headers([new, old], "msg_1", "{}", timestamp=now)
    Webhook(old).verify("{}", sent)
    Webhook(new).verify("{}", sent)


def test_no_secret_at_all_is_malformed() -> None:
    with pytest.raises(MalformedSignatureError):
        _verify_spec(secret=[])
    with pytest.raises(MalformedSignatureError):
        signing.sign([], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)


# --- timestamps ------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-300, -1, 0, 1, 300])
def test_timestamp_within_tolerance(offset: int) -> None:
    _verify_spec(now=SPEC_TIMESTAMP + offset)


@pytest.mark.parametrize(
    ("offset", "words"), [(301, "in the past"), (-301, "in the future"), (86400, "past")]
)
def test_timestamp_outside_tolerance(offset: int, words: str) -> None:
    with pytest.raises(TimestampToleranceError, match=words):
        _verify_spec(now=SPEC_TIMESTAMP + offset)


def test_tolerance_and_now_forms() -> None:
    _verify_spec(now=SPEC_TIMESTAMP + 30, tolerance=timedelta(seconds=30))
    _verify_spec(now=SPEC_TIMESTAMP + 30, tolerance=30.5)
    _verify_spec(now=datetime.fromtimestamp(SPEC_TIMESTAMP + 299, UTC))
    with pytest.raises(TimestampToleranceError):
        _verify_spec(now=SPEC_TIMESTAMP + 31, tolerance=timedelta(seconds=30))
    with pytest.raises(TimestampToleranceError):
        _verify_spec(now=datetime.fromtimestamp(SPEC_TIMESTAMP - 301, UTC))
    with pytest.raises(TimestampToleranceError):
        _verify_spec(now=SPEC_TIMESTAMP + 1, tolerance=0)
    with pytest.raises(ValueError, match="negative"):
        _verify_spec(tolerance=-1)
    with pytest.raises(ValueError, match="negative"):
        _verify_spec(tolerance=float("nan"))


def test_now_defaults_to_the_clock() -> None:
    # The spec vector is from 2021: far outside any tolerance today.
    with pytest.raises(TimestampToleranceError):
        _verify_spec(now=None)


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2021, 2, 25, 15, 42, 10)  # naive on purpose
    with pytest.raises(ValueError, match="timezone-aware"):
        signing.sign(SPEC_SECRET, SPEC_ID, naive, SPEC_BODY)
    with pytest.raises(ValueError, match="timezone-aware"):
        _verify_spec(now=naive)


def test_forged_and_stale_is_reported_as_forged() -> None:
    # Signatures are checked first: a tolerance error always means an authentic request.
    with pytest.raises(SignatureMismatchError):
        _verify_spec(body=b"forged", now=SPEC_TIMESTAMP + 10_000)


# --- tampering and malformed input -------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"body": b'{"test": 2432232315}'},
        {"body": SPEC_BODY + b" "},
        {"body": b""},
        {"msg_id": "msg_p5jXN8AQM9LWM0D4loKWxJel"},
        {"timestamp": str(SPEC_TIMESTAMP + 1)},
        {"secret": SPEC_KEY[:-1] + b"\x00"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_tampering_is_a_mismatch(change: dict[str, object]) -> None:
    with pytest.raises(SignatureMismatchError):
        _verify_spec(**change)


@pytest.mark.parametrize(
    "header",
    [
        f"v1a,AAAA  v2,whatever {SPEC_SIGNATURE} ",
        f"v1,not-base64! v1,AAAA {SPEC_SIGNATURE}",
        SPEC_SIGNATURE.rstrip("="),
    ],
)
def test_header_forms_that_still_match(header: str) -> None:
    _verify_spec(header)


@pytest.mark.parametrize(
    "header", ["v1,", "v1,AAAA", "v1,!!!!", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=AA"]
)
def test_wrong_v1_entries_are_mismatches(header: str) -> None:
    with pytest.raises(SignatureMismatchError):
        _verify_spec(header)


@pytest.mark.parametrize(
    "header", ["", "   ", "v1", ",abc", "garbage", "v1a,AAAA", "v2,abc v1a,def", "\ud800"]
)
def test_malformed_headers(header: str) -> None:
    with pytest.raises(MalformedSignatureError):
        _verify_spec(header)


@pytest.mark.parametrize(
    "timestamp", ["", "-1614265330", "+1614265330", "1614265330.0", " 1614265330", "1e9", "\ud800"]
)
def test_malformed_timestamps(timestamp: str) -> None:
    with pytest.raises(MalformedSignatureError, match="timestamp"):
        _verify_spec(timestamp=timestamp)


def test_ids_with_dots_are_refused_both_ways() -> None:
    # "{id}.{timestamp}.{body}" is only unambiguous when the id has no '.'.
    with pytest.raises(MalformedSignatureError, match=r"'\.'"):
        signing.sign(SPEC_SECRET, "msg.1", SPEC_TIMESTAMP, SPEC_BODY)
    with pytest.raises(MalformedSignatureError, match=r"'\.'"):
        _verify_spec(msg_id="msg.1")
    with pytest.raises(MalformedSignatureError):
        _verify_spec(msg_id="")
    with pytest.raises(MalformedSignatureError):
        signing.sign(SPEC_SECRET, SPEC_ID, -1, SPEC_BODY)


def test_verify_headers_reads_names_case_insensitively() -> None:
    received = {
        "Webhook-Id": SPEC_ID,
        "WEBHOOK-TIMESTAMP": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE,
        "Content-Type": "application/json",
    }
    signing.verify_headers(SPEC_SECRET, received, SPEC_BODY, now=SPEC_TIMESTAMP)
    with pytest.raises(SignatureMismatchError):
        signing.verify_headers(SPEC_SECRET, received, b"{}", now=SPEC_TIMESTAMP)
    for name in ("Webhook-Id", "WEBHOOK-TIMESTAMP", "webhook-signature"):
        partial = {key: value for key, value in received.items() if key != name}
        with pytest.raises(MalformedSignatureError, match=f"missing {name.lower()} header"):
            signing.verify_headers(SPEC_SECRET, partial, SPEC_BODY, now=SPEC_TIMESTAMP)


@given(
    header=st.text(max_size=200),
    msg_id=st.text(max_size=40),
    timestamp=st.text(max_size=25),
    body=st.binary(max_size=100),
)
def test_arbitrary_input_only_raises_signature_errors(
    header: str, msg_id: str, timestamp: str, body: bytes
) -> None:
    with contextlib.suppress(SignatureError):
        signing.verify(SPEC_SECRET, msg_id, timestamp, body, header, now=0)


@given(versions=st.lists(st.sampled_from(["v1", "v1a", "v2"]), max_size=6))
def test_only_v1_entries_are_checked(versions: list[str]) -> None:
    header = " ".join(f"{version},AAAA" for version in versions)
    # With a (wrong) v1 entry the header is readable but does not match; without one
    # there is nothing this verifier can check.
    expected = SignatureMismatchError if "v1" in versions else MalformedSignatureError
    with pytest.raises(expected):
        _verify_spec(header)


# --- secrets -----------------------------------------------------------------------


def test_generate_secret() -> None:
    secret = signing.generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert len({signing.generate_secret() for _ in range(20)}) == 20
    # The reference library reads it the same way.
    signature = Webhook(secret).sign("msg_1", datetime.fromtimestamp(1, UTC), "x")
    assert signature == signing.sign(secret, "msg_1", 1, "x")


@pytest.mark.parametrize("secret", ["whsec_!!notbase64!!", "whsec_", "whsec_A", "", b""])
def test_malformed_secrets_are_not_quoted(secret: signing.Secret) -> None:
    with pytest.raises(MalformedSignatureError) as raised:
        signing.sign(secret, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)
    message = str(raised.value)
    assert "notbase64" not in message
    assert "!!" not in message


def test_secret_values_never_appear_in_errors() -> None:
    secret = "whsec_c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1ub3QtbGVhaw=="
    key = base64.b64decode(secret.removeprefix("whsec_"))
    failures: list[BaseException] = []
    for attempt in (
        lambda: _verify_spec(secret=secret),
        lambda: _verify_spec(secret=secret, timestamp="x"),
        lambda: _verify_spec("", secret=secret),
        lambda: _verify_spec(secret=[secret, 42]),
        lambda: signing.sign(secret, "a.b", 1, b""),
    ):
        with pytest.raises((SignatureError, TypeError)) as raised:
            attempt()
        failures.append(raised.value)
    for failure in failures:
        for text in (str(failure), repr(failure)):
            assert "c2VjcmV0" not in text
            assert "secret-value" not in text
            assert key.decode() not in text


def test_secret_of_another_type_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="str or bytes, not int"):
        signing.sign([1234], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)  # type: ignore[list-item]


# --- carrier primitives ------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@given(key=st.binary(max_size=200), data=st.binary(max_size=500))
def test_hmac_matches_stdlib(algorithm: signing.HmacAlgorithm, key: bytes, data: bytes) -> None:
    expected = hmac.new(key, data, algorithm).digest()
    assert signing.hmac_digest(algorithm, key, data) == expected


def test_hmac_accepts_text_as_utf8() -> None:
    # Twilio: base64(HMAC-SHA1(auth token, url + sorted params)); the token is text.
    token, signed = "12345", "https://example.com/sms?x=1Body=héllo"
    expected = base64.b64encode(hmac.new(b"12345", signed.encode(), hashlib.sha1).digest())
    assert base64.b64encode(signing.hmac_digest("sha1", token, signed)) == expected


def test_hmac_refuses_other_algorithms() -> None:
    with pytest.raises(ValueError, match="unknown HMAC algorithm"):
        signing.hmac_digest("sha384", b"k", b"d")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown HMAC algorithm"):
        signing.hmac_digest("SHA256", b"k", b"d")  # type: ignore[arg-type]


@given(data=st.binary(max_size=1000))
def test_md5_matches_hashlib(data: bytes) -> None:
    assert signing.md5_digest(data) == hashlib.md5(data).digest()


def test_md5_of_text_and_vonage_style() -> None:
    # Vonage's legacy md5hash: MD5 of the sorted "&k=v" string followed by the secret, hex.
    params = "&msisdn=447700900000&text=Hello&to=447700900001"
    expected = hashlib.md5((params + "secret").encode()).hexdigest()
    assert signing.md5_digest(params + "secret").hex() == expected


@given(a=st.binary(max_size=64), b=st.binary(max_size=64))
def test_constant_time_equal_agrees_with_compare_digest(a: bytes, b: bytes) -> None:
    assert signing.constant_time_equal(a, b) is hmac.compare_digest(a, b)
    assert signing.constant_time_equal(a, a) is True


def test_constant_time_equal_semantics() -> None:
    assert signing.constant_time_equal(b"", b"")
    assert signing.constant_time_equal("v1,abc", "v1,abc")
    assert signing.constant_time_equal("é", "é".encode())
    assert not signing.constant_time_equal(b"abc", b"abd")
    assert not signing.constant_time_equal(b"abc", b"ab")
    assert not signing.constant_time_equal(b"abc", b"abc\x00")
    with pytest.raises(TypeError):
        signing.constant_time_equal(bytearray(b"a"), b"a")  # type: ignore[arg-type]


@pytest.mark.parametrize(("public_key", "message", "signature"), RFC8032_VECTORS)
def test_ed25519_rfc8032_vectors(public_key: str, message: str, signature: str) -> None:
    key, data, sig = bytes.fromhex(public_key), bytes.fromhex(message), bytes.fromhex(signature)
    assert signing.ed25519_verify(key, data, sig) is True
    assert signing.ed25519_verify(key, data + b"\x00", sig) is False
    flipped = bytes([sig[0] ^ 1]) + sig[1:]
    assert signing.ed25519_verify(key, data, flipped) is False
    for other_key, _, _ in RFC8032_VECTORS:
        if other_key != public_key:
            assert signing.ed25519_verify(bytes.fromhex(other_key), data, sig) is False


def test_ed25519_telnyx_style_text_message() -> None:
    # Telnyx signs "{timestamp}|{body}"; text is verified as its UTF-8 bytes.
    key, _, sig = (bytes.fromhex(part) for part in RFC8032_VECTORS[1])
    assert signing.ed25519_verify(key, "r", sig) is True


@pytest.mark.parametrize(
    ("public_key", "signature", "words"),
    [
        (bytes(31), bytes(64), "32 bytes"),
        (b"", bytes(64), "32 bytes"),
        (b"\x01" + bytes(31), bytes(64), "small order"),
        (b"\x02" + bytes(31), bytes(64), "not a valid"),
        (bytes.fromhex(RFC8032_VECTORS[0][0]), bytes(63), "64 bytes"),
        (bytes.fromhex(RFC8032_VECTORS[0][0]), b"", "64 bytes"),
    ],
)
def test_ed25519_malformed_keys_and_signatures(
    public_key: bytes, signature: bytes, words: str
) -> None:
    with pytest.raises(MalformedSignatureError, match=words):
        signing.ed25519_verify(public_key, b"message", signature)


@given(public_key=st.binary(max_size=40), signature=st.binary(max_size=70))
def test_ed25519_arbitrary_input_is_false_or_malformed(public_key: bytes, signature: bytes) -> None:
    with contextlib.suppress(MalformedSignatureError):
        assert signing.ed25519_verify(public_key, b"message", signature) is False
