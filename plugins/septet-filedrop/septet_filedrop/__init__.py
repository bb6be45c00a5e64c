"""An example Septet carrier plugin: inbound SMS from files dropped into a directory."""

from __future__ import annotations

from ._carrier import FileDropCarrier as FileDropCarrier
from ._carrier import FileDropConfig as FileDropConfig

__all__ = ["FileDropCarrier", "FileDropConfig"]
