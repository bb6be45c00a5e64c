"""``septet store keys`` and ``septet store rotate-keys``: encryption at rest.

* ``keys`` reports how many stored bodies (messages, raw payloads, buffered parts) each
  key id seals, and how many are plain.
* ``rotate-keys`` reseals, under the active key (the first of ``[store]
  encryption_keys``), every body sealed under another key or not sealed at all, a batch
  at a time, then reports as ``keys`` does: a key that seals nothing may leave the
  config.

Both open the inbox the config names; they may run while the engine serves it (SQLite
lets one writer in at a time: the engine's writes wait for a batch, never fail).
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

import trio

from ._cli_serve import _config, _fail
from .config import Config
from .errors import ConfigError, SeptetError
from .store import open_store
from .store._privacy import KeyUsage

__all__ = ["add_store_commands"]


def _report(usage: KeyUsage, config: Config, out: TextIO) -> None:
    configured = [key.id for key in config.store.encryption_keys]
    for key_id in [*configured, *sorted(set(usage.keys) - set(configured))]:
        count = usage.keys.get(key_id, 0)
        if key_id not in configured:
            note = "  (not configured: these cannot be read)"
        elif key_id == configured[0]:
            note = "  (active)"
        elif count == 0:
            note = "  (seals nothing: it may leave the config)"
        else:
            note = ""
        out.write(f"key {key_id}: {count} bodies{note}\n")
    out.write(f"plain: {usage.plain} bodies\n")


async def _keys(config: Config, out: TextIO) -> None:
    async with open_store(config.store, config.data_dir) as store:
        _report(await store.key_usage(), config, out)


async def _rotate(config: Config, batch: int, out: TextIO) -> None:
    if not config.store.encryption_keys:
        raise ConfigError(
            "no key to rotate to: list one first in [store] encryption_keys",
            key="store.encryption_keys",
        )
    async with open_store(config.store, config.data_dir) as store:
        rewritten = await store.rotate_bodies(batch=batch)
        active = config.store.encryption_keys[0].id
        out.write(f"septet: resealed {rewritten} bodies under key {active}\n")
        _report(await store.key_usage(), config, out)


def _run_keys(args: argparse.Namespace) -> int:
    try:
        trio.run(_keys, _config(args), sys.stdout)
    except SeptetError as error:
        return _fail(sys.stderr, error)
    return 0


def _run_rotate(args: argparse.Namespace) -> int:
    if args.batch < 1:
        sys.stderr.write("septet: --batch must be at least 1\n")
        return 2
    try:
        trio.run(_rotate, _config(args), args.batch, sys.stdout)
    except SeptetError as error:
        return _fail(sys.stderr, error)
    return 0


def add_store_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``store keys`` and ``store rotate-keys`` to the command line."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", help="TOML config (default: built-in defaults)")
    common.add_argument("--data-dir", metavar="DIR", help="override the config's data_dir")
    store = commands.add_parser("store", help="look after the inbox's storage")
    store_commands = store.add_subparsers(dest="store_command", required=True)
    keys = store_commands.add_parser(
        "keys",
        parents=[common],
        help="how many stored bodies each encryption key seals",
        description="Report how many message bodies, raw payloads and buffered parts each "
        "key of [store] encryption_keys seals, and how many are stored plain.",
    )
    keys.set_defaults(handler=_run_keys)
    rotate = store_commands.add_parser(
        "rotate-keys",
        parents=[common],
        help="reseal every stored body under the active key",
        description="Reseal, under the first key of [store] encryption_keys, every stored body "
        "sealed under another key or stored plain, a batch per transaction; then report what "
        "each key seals. A key that seals nothing may leave the config.",
    )
    rotate.add_argument("--batch", type=int, default=500, help="rows per transaction (default 500)")
    rotate.set_defaults(handler=_run_rotate)
