"""``septet bench``: an ingest-latency harness (see :mod:`._run` for how a run goes).

Only the command line's hook is imported here: the harness itself (and what it needs:
hdrhistogram, rich, matplotlib) loads when the command runs.
"""

from ._cli import add_bench_command as add_bench_command

__all__ = ["add_bench_command"]
