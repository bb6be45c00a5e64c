"""The ``septet`` command line.

* ``septet serve``: run the engine (store, carriers, metrics) until interrupted.
* ``septet sim send``: inject a message into a running engine's sandbox carrier.
* ``septet messages``: list (and ``--follow``) the inbox.
* ``septet numbers``: rent numbers: search, lease, list, renew, release.
* ``septet decode``: decode modem PDUs to JSON lines, no engine needed.
* ``septet bench``: measure ingest latency under a steady load (``engine._bench``).
* ``septet store keys`` / ``septet store rotate-keys``: encryption at rest.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__, _bench, _cli_decode, _cli_numbers, _cli_serve, _cli_store

__all__ = ["main"]


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="septet", description="Septet: an engine for receiving SMS."
    )
    parser.add_argument("--version", action="version", version=f"septet {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    _cli_serve.add_engine_commands(commands)
    _cli_numbers.add_numbers_command(commands)
    _cli_decode.add_decode_command(commands)
    _cli_store.add_store_commands(commands)
    _bench.add_bench_command(commands)
    commands.choices["decode"].set_defaults(
        handler=lambda args: _cli_decode.run_decode(args, sys.stdin, sys.stdout, sys.stderr)
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``septet`` command; returns the exit status."""
    args = _build_parser().parse_args(argv)
    status: int = args.handler(args)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
