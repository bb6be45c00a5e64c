"""The ingest pipeline: decode, normalize, reassemble, dedupe, extract, commit, notify."""

from __future__ import annotations

from ._pipeline import Pipeline as Pipeline
from ._sweeper import run_sweeper as run_sweeper
from ._watchers import MessageFilter as MessageFilter
from ._watchers import MessageStream as MessageStream
from ._watchers import WatcherHub as WatcherHub

__all__ = ["MessageFilter", "MessageStream", "Pipeline", "WatcherHub", "run_sweeper"]
