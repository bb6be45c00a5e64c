"""The inbox: the `Store` protocol, its records, and the SQLite store."""

from __future__ import annotations

from ._protocol import BufferedPart, MessageQuery, PartAdded, Store, Written

__all__ = ["BufferedPart", "MessageQuery", "PartAdded", "Store", "Written"]
