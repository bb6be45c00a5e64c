"""The exception tree: one root, codec errors with offsets, picklable."""

from __future__ import annotations

import pickle

import pytest

from engine import errors


def test_every_exception_derives_from_septet_error() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.SeptetError), name


@pytest.mark.parametrize(
    "cls", [errors.HexError, errors.PduError, errors.Gsm7Error, errors.Ucs2Error]
)
def test_codec_errors_carry_reason_offset_and_are_value_errors(
    cls: type[errors.CodecError],
) -> None:
    exc = cls("user data shorter than TP-UDL", 42, index=3)
    assert isinstance(exc, ValueError)
    assert isinstance(exc, errors.CodecError)
    assert (exc.reason, exc.offset, exc.index) == ("user data shorter than TP-UDL", 42, 3)
    assert "offset 42" in str(exc)
    assert "item 3" in str(exc)
    clone = pickle.loads(pickle.dumps(exc))
    assert type(clone) is cls
    assert (clone.reason, clone.offset, clone.index) == (exc.reason, exc.offset, exc.index)


def test_signature_errors_are_not_codec_errors() -> None:
    for cls in (
        errors.MalformedSignatureError,
        errors.SignatureMismatchError,
        errors.TimestampToleranceError,
    ):
        assert issubclass(cls, errors.SignatureError)
        assert not issubclass(cls, errors.CodecError)


def test_the_tree_is_documented_in_the_module_docstring() -> None:
    doc = errors.__doc__ or ""
    for name in errors.__all__:
        assert name in doc, f"{name} is missing from the errors module docstring"
