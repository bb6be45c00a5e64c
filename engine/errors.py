"""The exceptions Septet raises, in one tree.

Every exception Septet raises on purpose derives from :class:`SeptetError`, so
``except engine.errors.SeptetError`` catches them all. Each class says what the
caller can do about it::

    SeptetError
    ├── CodecError (ValueError)          undecodable input (or unencodable text): .offset, .reason
    │   ├── HexError                     hex text with an odd length or a non-hex character
    │   ├── PduError                     a malformed SMS TPDU: truncated, reserved MTI, bad header
    │   ├── Gsm7Error                    text with no GSM 7-bit code, or septets out of range
    │   ├── Ucs2Error                    UTF-16BE with an odd length or a lone surrogate (strict)
    │   └── SmppError                    a malformed SMPP PDU or stream: .command_status to answer,
    │                                    .sequence_number and .command_id when readable
    ├── ReassemblyError (ValueError)     parts that do not belong to one message
    ├── SignatureError                   a webhook signature that must not be trusted
    │   ├── MalformedSignatureError      a header, key or secret that cannot be parsed
    │   ├── SignatureMismatchError       no listed signature matches the payload
    │   └── TimestampToleranceError      the signed timestamp is too old or too far in the future
    ├── ConfigError (ValueError)         invalid configuration; .key names the bad setting
    ├── PluginError                      a plugin that cannot be loaded or used; names it
    ├── DefinitionConflictError          a change to a destination or the routes that the current
    │   │                                state refuses: a name in use, a definition from the config
    │   │                                file, routes still naming a destination
    │   └── StaleVersionError            the definition changed since it was read; read it again
    ├── TenantConflictError              a change to tenants, members or keys that the current
    │                                    state refuses: an id or email in use, the receiving
    │                                    tenant, a tenant that still holds messages
    ├── InvalidKeyError                  an API key that is malformed, unknown, revoked or expired
    ├── ScopeError (ValueError)          scopes that are unknown or beyond what a role (or the
    │                                    caller) may grant; .scopes names them
    ├── NumberConflictError              a change to numbers or leases the current state refuses:
    │                                    a number leased or cooling off, an ended lease, an
    │                                    expired quote
    ├── InvalidTermError (ValueError)    a lease term out of range or in a unit with no price
    ├── StoreError                       the inbox cannot be written or read now; retry later
    │   └── EncryptionError              a stored body that fails its integrity check; .key_id
    │       └── UnknownKeyError          sealed under a key that is not configured; .key_id
    ├── EngineClosedError                the engine is shutting down or closed
    └── DeliveryError                    a destination could not take a message
        ├── RetryableDeliveryError       try again later (timeouts, 5xx, rate limits)
        └── PermanentDeliveryError       do not retry (4xx, a target that no longer exists)

Codec errors never mean the input was lost: the caller still holds the bytes and
decides whether to retry, store them raw or report them.
"""

from __future__ import annotations

__all__ = [
    "CodecError",
    "ConfigError",
    "DefinitionConflictError",
    "DeliveryError",
    "EncryptionError",
    "EngineClosedError",
    "Gsm7Error",
    "HexError",
    "InvalidKeyError",
    "InvalidTermError",
    "MalformedSignatureError",
    "NumberConflictError",
    "PduError",
    "PermanentDeliveryError",
    "PluginError",
    "ReassemblyError",
    "RetryableDeliveryError",
    "ScopeError",
    "SeptetError",
    "SignatureError",
    "SignatureMismatchError",
    "SmppError",
    "StaleVersionError",
    "StoreError",
    "TenantConflictError",
    "TimestampToleranceError",
    "Ucs2Error",
    "UnknownKeyError",
]


class SeptetError(Exception):
    """Base class of every exception Septet raises on purpose."""


class CodecError(SeptetError, ValueError):
    """Input that cannot be decoded (or text that cannot be encoded).

    ``offset`` is the byte offset into the input where the problem was found (for
    hex input: the offset into the decoded bytes, or the character index of a bad
    hex digit; for encoding: the character index in the text). ``reason`` is a
    short human-readable explanation. ``index`` is set when the error comes from
    one item of a batch call.
    """

    def __init__(self, reason: str, offset: int, *, index: int | None = None) -> None:
        self.reason = reason
        self.offset = offset
        self.index = index
        where = f"item {index}, offset {offset}" if index is not None else f"offset {offset}"
        super().__init__(f"{reason} (at {where})")

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_codec_error, (type(self), self.reason, self.offset, self.index))


def _rebuild_codec_error(
    cls: type[CodecError], reason: str, offset: int, index: int | None
) -> CodecError:
    return cls(reason, offset, index=index)


class HexError(CodecError):
    """Hex text that is not hex: odd length or a character outside ``0-9a-fA-F``."""


class PduError(CodecError):
    """A malformed SMS TPDU: truncated, a reserved message type, a header that overruns."""


class Gsm7Error(CodecError):
    """Text that has no code in the chosen GSM 7-bit tables, or a septet value above 127."""


class Ucs2Error(CodecError):
    """UTF-16BE data with an odd number of octets or a lone surrogate (strict decoding)."""


class SmppError(CodecError):
    """A malformed SMPP PDU, or a byte stream that cannot be split into PDUs.

    ``command_status`` is the status the peer should get back (``ESME_RINVCMDLEN``,
    ``ESME_RINVTLVLEN``, ...; see :class:`engine.smpp.CommandStatus`). ``offset`` is the
    byte offset into the PDU, or into the stream for an error of
    :class:`engine.smpp.FrameReader` (after which the stream cannot be read on).
    ``sequence_number`` and ``command_id`` are the header's, when the PDU was long
    enough to read them: :func:`engine.smpp.error_response` builds the answer from them.
    """

    def __init__(
        self,
        reason: str,
        offset: int,
        *,
        command_status: int,
        sequence_number: int | None = None,
        command_id: int | None = None,
        index: int | None = None,
    ) -> None:
        self.command_status = command_status
        self.sequence_number = sequence_number
        self.command_id = command_id
        super().__init__(reason, offset, index=index)

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild_smpp_error,
            (
                self.reason,
                self.offset,
                self.command_status,
                self.sequence_number,
                self.command_id,
                self.index,
            ),
        )


def _rebuild_smpp_error(
    reason: str,
    offset: int,
    command_status: int,
    sequence_number: int | None,
    command_id: int | None,
    index: int | None,
) -> SmppError:
    return SmppError(
        reason,
        offset,
        command_status=command_status,
        sequence_number=sequence_number,
        command_id=command_id,
        index=index,
    )


class ReassemblyError(SeptetError, ValueError):
    """Parts handed to :func:`engine.codec.reassemble` that are not one message.

    Raised when parts disagree on the concatenation reference, the total, or the
    sender, or when a part carries no concatenation information at all.
    """


class SignatureError(SeptetError):
    """A webhook signature that must not be trusted; reject the request."""


class MalformedSignatureError(SignatureError):
    """A signature header, secret or key that cannot be parsed."""


class SignatureMismatchError(SignatureError):
    """None of the signatures offered matches the payload and secret."""


class TimestampToleranceError(SignatureError):
    """The signed timestamp is outside the allowed tolerance (replay protection)."""


class ConfigError(SeptetError, ValueError):
    """Configuration that cannot be used; ``key`` is the dotted path of the bad setting."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        self.key = key
        self.reason = message
        """The message without the key."""
        super().__init__(f"{key}: {message}" if key else message)


class PluginError(SeptetError):
    """A plugin that cannot be loaded or used; the message names its distribution,
    version and the reason."""


class DefinitionConflictError(SeptetError):
    """A change to a destination or to the route table that the current state refuses:
    the name is in use, the definition comes from the config file (change it there),
    or the routes still name the destination. Nothing was changed."""


class StaleVersionError(DefinitionConflictError):
    """The definition is not at the version the change was based on (someone changed it
    since it was read). Nothing was changed: read it again and redo the change."""


class TenantConflictError(SeptetError):
    """A change to tenants, members or keys that the current state refuses: the id or
    email is taken, the tenant is the one the engine files messages under, or it still
    holds messages. Nothing was changed."""


class InvalidKeyError(SeptetError):
    """An API key that cannot act: malformed, unknown, revoked or expired. The message
    says which, never the key itself."""


class ScopeError(SeptetError, ValueError):
    """Scopes that are unknown, or wider than the role (or the key making the change)
    grants; ``scopes`` names them. Nothing was changed."""

    def __init__(self, message: str, *, scopes: tuple[str, ...]) -> None:
        self.scopes = scopes
        super().__init__(message)


class StoreError(SeptetError):
    """The inbox cannot be written (or read) right now: a read-only or full disk, a lost
    database connection. Nothing was acknowledged; retrying later is safe."""


class EncryptionError(StoreError):
    """A stored body that cannot be opened: it fails its integrity check (changed, or
    moved from another row). ``key_id`` names the key it is sealed under (never the key)."""

    def __init__(self, message: str, *, key_id: str | None) -> None:
        super().__init__(message)
        self.key_id = key_id


class UnknownKeyError(EncryptionError):
    """A stored body sealed under a key that is not configured: add the key (by the id
    the error names) back to ``[store] encryption_keys``."""


class NumberConflictError(SeptetError):
    """A change to numbers or leases that the current state refuses: the number is leased
    or cooling off (or in the inventory already), the lease has ended, the quote expired."""


class InvalidTermError(SeptetError, ValueError):
    """A term that cannot be leased: outside 1..the unit's maximum, or a unit the number
    has no price for."""


class EngineClosedError(SeptetError):
    """The engine is shutting down or closed; it accepts no new work."""


class DeliveryError(SeptetError):
    """A destination could not take a message.

    ``status_code`` and ``response`` (a truncated excerpt of the answer's body) are the
    destination's reply when there was one; they go into the delivery's attempt log.
    """

    def __init__(
        self, message: str, *, status_code: int | None = None, response: str | None = None
    ) -> None:
        self.status_code = status_code
        self.response = response
        super().__init__(message)


class RetryableDeliveryError(DeliveryError):
    """A failure worth retrying: a timeout, a 5xx, a rate limit. ``retry_after`` (seconds)
    is the destination's own hint, when it gave one; ``throttled`` says the destination
    asked to slow down (a 429 or a timeout), which waits at least a minute."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        throttled: bool = False,
        status_code: int | None = None,
        response: str | None = None,
    ) -> None:
        self.retry_after = retry_after
        self.throttled = throttled
        super().__init__(message, status_code=status_code, response=response)


class PermanentDeliveryError(DeliveryError):
    """A failure retrying cannot fix: a 4xx, a target that does not exist any more.

    ``disable`` says the target is gone for good (``410 Gone``, a deleted chat webhook):
    the engine disables the destination, and its other deliveries wait for an operator.
    """

    def __init__(
        self,
        message: str,
        *,
        disable: bool = False,
        status_code: int | None = None,
        response: str | None = None,
    ) -> None:
        self.disable = disable
        super().__init__(message, status_code=status_code, response=response)
