"""Encryption at rest of what messages say: AES-256-GCM envelopes under named keys.

A stored body (a message's record, a raw carrier payload, a buffered part) is either the
plain bytes it always was or an envelope::

    b"\\xa7SE" | version (1 byte: 1) | key id (ASCII) | b"\\x00" | nonce (12 bytes) | sealed

The header names the key, so a body outlives the key that is active: a new key is put
first in ``[store] encryption_keys`` and the older ones stay listed until nothing is
sealed under them (``septet store rotate-keys`` rewrites what they cover). Each seal takes
a fresh random 96-bit nonce (at 2**32 seals per key the chance of a repeat stays below
2**-32; rotate well before that). The associated data is the header and the row the body
belongs to (``msg`` or ``raw`` and the message's key, ``part`` and the part's set and
seq), so a body copied to another row, or a header changed, fails to open.

Message bodies are msgspec JSON, which starts with ``{``, and an envelope never does:
reading a plain body costs one byte comparison. Raw payloads are opaque bytes; one that
happens to start with the envelope's three marker bytes and a version is read as an
envelope (and fails to open), which only a payload crafted to do so can do.

Keys are never logged, never in an error message nor in a ``repr``: errors name the key
id alone. The ``cryptography`` package is imported only when keys are configured.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .errors import ConfigError, EncryptionError, UnknownKeyError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from .config import EncryptionKey

__all__ = [
    "BodyCipher",
    "EncryptionError",
    "KEY_ID_PATTERN",
    "MARKER",
    "UnknownKeyError",
    "cipher_of",
    "decode_key",
    "header",
    "is_sealed",
    "open_body",
    "open_sealed",
    "sealed_key_id",
]

MARKER = b"\xa7SE\x01"
"""How an envelope starts: three marker bytes and the format's version."""
KEY_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,32}$"
"""What a key id may be: it is written in every envelope, so short and plain."""
NONCE_BYTES = 12
_KEY_ID = re.compile(KEY_ID_PATTERN)
_HEADER_END = len(MARKER) + 33  # the key id's NUL falls within this many bytes


def decode_key(text: str, *, key: str) -> bytes:
    """The 32 bytes of a key given as base64; :class:`ConfigError` at ``key`` (a
    dotted config path) otherwise, never repeating the text."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError("must be the base64 of 32 random bytes", key=key) from None
    if len(raw) != 32:
        raise ConfigError(
            f"must be the base64 of 32 random bytes (it holds {len(raw)})", key=key
        ) from None
    return raw


def is_sealed(stored: bytes) -> bool:
    """Whether ``stored`` is an envelope (else plain bytes)."""
    return stored[:4] == MARKER


def sealed_key_id(stored: bytes) -> str | None:
    """The key id an envelope names; None for plain bytes (or a header that is not one)."""
    if stored[:4] != MARKER:
        return None
    end = stored.find(b"\x00", len(MARKER), _HEADER_END)
    if end <= len(MARKER):
        return None
    return stored[len(MARKER) : end].decode("ascii", "replace")


class BodyCipher:
    """The configured keys: the first seals, every one opens what it sealed.

    Built from ``(key id, 32-byte key)`` pairs; safe to share between threads (AESGCM
    holds no per-call state).
    """

    __slots__ = ("_active", "_header", "_keys")

    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError("a cipher needs at least one key")
        try:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        except ImportError:  # pragma: no cover - depends on the installation
            raise ConfigError(
                "encryption at rest needs the 'cryptography' package: pip install cryptography",
                key="store.encryption_keys",
            ) from None
        opened: dict[str, AESGCM] = {}
        for key_id, key in keys:
            if not _KEY_ID.match(key_id):
                raise ValueError("a key id is 1 to 32 letters, digits, '_', '.' or '-'")
            if key_id in opened:
                raise ValueError(f"the key id {key_id!r} is listed twice")
            if len(key) != 32:
                raise ValueError(f"the key {key_id!r} is not 32 bytes")
            opened[key_id] = AESGCM(key)
        self._keys = opened
        self._active = keys[0][0]
        self._header = header(self._active)

    @property
    def active_key_id(self) -> str:
        """The key new bodies are sealed under."""
        return self._active

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Every configured key id, the active one first."""
        return tuple(self._keys)

    @property
    def active_header(self) -> bytes:
        """How a body sealed under the active key starts (up to its nonce)."""
        return self._header

    def seal(self, plain: bytes | bytearray, row: bytes) -> bytes:
        """``plain`` sealed under the active key for ``row`` (the associated data)."""
        nonce = os.urandom(NONCE_BYTES)
        head = self._header
        sealed = self._keys[self._active].encrypt(nonce, bytes(plain), head + row)
        return b"".join((head, nonce, sealed))

    def open(self, stored: bytes, row: bytes) -> bytes:
        """The plain bytes of the envelope ``stored``, sealed for ``row``."""
        key_id = sealed_key_id(stored)
        if key_id is None:
            raise EncryptionError("a stored body has a damaged envelope header", key_id=None)
        aead = self._keys.get(key_id)
        if aead is None:
            raise _unknown(key_id)
        start = len(MARKER) + len(key_id) + 1
        nonce = stored[start : start + NONCE_BYTES]
        try:
            return aead.decrypt(nonce, stored[start + NONCE_BYTES :], stored[:start] + row)
        except Exception as exc:  # cryptography's InvalidTag, or a truncated nonce
            raise EncryptionError(
                f"a stored body sealed under key {key_id!r} failed its integrity check:"
                " it was changed or moved from another row",
                key_id=key_id,
            ) from exc

    def __repr__(self) -> str:
        return f"BodyCipher(active={self._active!r}, keys={list(self._keys)!r})"


def cipher_of(keys: Sequence[EncryptionKey]) -> BodyCipher | None:
    """The cipher of the configured keys (``[store] encryption_keys``); None when none
    is configured (bodies are stored plain)."""
    if not keys:
        return None
    return BodyCipher(
        [
            (key.id, decode_key(key.key, key=f"store.encryption_keys[{i}].key"))
            for i, key in enumerate(keys)
        ]
    )


def header(key_id: str) -> bytes:
    """How an envelope under ``key_id`` starts, up to its nonce."""
    return MARKER + key_id.encode("ascii") + b"\x00"


def open_body(stored: bytes, row: bytes, cipher: BodyCipher | None) -> bytes:
    """``stored`` as plain bytes: itself when it is no envelope, else opened.

    Raises :class:`UnknownKeyError` for an envelope when no key (or not its key) is
    configured, :class:`EncryptionError` when it fails its integrity check.
    """
    if stored[:4] != MARKER:
        return stored
    return open_sealed(stored, row, cipher)


def open_sealed(stored: bytes, row: bytes, cipher: BodyCipher | None) -> bytes:
    """The plain bytes of ``stored``, which must be an envelope (a record that is not
    plain JSON): as :func:`open_body`, and :class:`EncryptionError` for bytes that are
    no envelope at all."""
    if cipher is None:
        key_id = sealed_key_id(stored)
        if key_id is None:
            raise EncryptionError("a stored body has a damaged envelope header", key_id=None)
        raise _unknown(key_id)
    return cipher.open(stored, row)


def _unknown(key_id: str) -> UnknownKeyError:
    return UnknownKeyError(
        f"a stored body is sealed under the key {key_id!r}, which is not configured:"
        " list it in [store] encryption_keys",
        key_id=key_id,
    )
