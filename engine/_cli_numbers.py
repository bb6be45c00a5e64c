"""``septet numbers``: rent numbers from the command line.

Like ``septet messages``, it works on the data directory's inbox directly (the config's
store), as the tenant ``--tenant`` names (default: the config's ``tenant``). A running
engine follows what it changes within ``[numbers] watch_seconds``.

* ``septet numbers add NUMBER --country GB --carrier tw --price day=90 --currency GBP``:
  put a number in the inventory (an operator's task);
* ``septet numbers search [--country GB] [--capability sms]``: the numbers available;
* ``septet numbers lease NUMBER --term 7d [--auto-renew] [--yes]``: quote the lease, ask
  (unless ``--yes``), then confirm it;
* ``septet numbers list [--all]``: the tenant's leases with the time each has left;
* ``septet numbers renew NUMBER|LEASE [--term 1mo]``, ``septet numbers release
  NUMBER|LEASE``.

Terms are a count and a unit: ``12h``, ``7d``, ``3mo``. Amounts are integers in the
currency's minor units (cents), as the ledger keeps them.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TextIO, cast

import msgspec
import trio

from ._logging import configure_logging
from .config import Config
from .errors import ConfigError, SeptetError

__all__ = ["add_numbers_command"]

_json = msgspec.json.Encoder()
_TERM = re.compile(r"(\d+)\s*(h|hours?|d|days?|mo|months?)")
_UNITS = {"h": "hour", "d": "day", "mo": "month"}


def parse_term(text: str) -> Any:
    """``7d`` -> a 7-day term; a :class:`ConfigError` for anything else."""
    from .store import Term

    match = _TERM.fullmatch(text.strip().lower())
    if match is None:
        raise ConfigError(f"{text!r} is not a term: a count and h, d or mo (12h, 7d, 3mo)")
    unit = match[2]
    unit = _UNITS.get(unit, unit.rstrip("s"))
    try:
        return Term(unit=unit, count=int(match[1]))  # type: ignore[arg-type]
    except ValueError as exc:
        raise ConfigError(str(exc), key="term") from None


def _left(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days}d {hours}h left"
    return f"{hours}h {rest // 60}m left"


def _show_number(number: Any, out: TextIO, as_json: bool) -> None:
    if as_json:
        out.write(_json.encode(number).decode() + "\n")
        return
    prices = number.prices
    offered = ", ".join(
        f"{price}/{unit}"
        for unit, price in (("hour", prices.hour), ("day", prices.day), ("month", prices.month))
        if price is not None
    )
    capabilities = ",".join(number.capabilities)
    out.write(
        f"{number.number:<16} {number.country}  {capabilities:<14} {number.carrier:<12}"
        f" {offered} {number.currency}\n"
    )


def _show_lease(lease: Any, out: TextIO, as_json: bool) -> None:
    if as_json:
        out.write(_json.encode(lease).decode() + "\n")
        return
    expires = lease.expires_at.astimezone().strftime("%Y-%m-%d %H:%M")
    state = _left(lease.time_left_seconds) if lease.state == "active" else "ended"
    renew = "  auto-renew" if lease.auto_renew and lease.state == "active" else ""
    out.write(f"{lease.number:<16} {lease.id}  until {expires}  ({state}){renew}\n")


async def _run(config: Config, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ._numbers import NumberBook
    from .store import open_store

    async with open_store(config.store, config.data_dir) as store:
        book = NumberBook(store, config.numbers)
        action: Callable[[Any, Config, argparse.Namespace, TextIO, TextIO], Awaitable[int]]
        action = args.numbers_action
        return await action(book, config, args, out, err)


async def _add(book: Any, config: Config, args: argparse.Namespace, out: TextIO, _: TextIO) -> int:
    from .store import Prices

    prices: dict[str, int] = {}
    for given in args.price:
        unit, _, amount = given.partition("=")
        if unit not in ("hour", "day", "month") or not amount.isdigit():
            raise ConfigError(f"{given!r} is not a price: UNIT=AMOUNT, e.g. day=90", key="price")
        prices[unit] = int(amount)
    try:
        offered = Prices(**prices)
    except ValueError as exc:
        raise ConfigError(str(exc), key="price") from None
    number = await book.add_number(
        args.number,
        country=args.country.upper(),
        carrier=args.carrier,
        prices=offered,
        currency=args.currency.upper(),
        region=args.region,
        capabilities=tuple(args.capability or ("sms",)),
        actor="cli",
    )
    _show_number(number, out, args.json)
    return 0


async def _search(
    book: Any, config: Config, args: argparse.Namespace, out: TextIO, _: TextIO
) -> int:
    found = await book.search(
        country=args.country,
        capabilities=tuple(args.capability or ()),
        carrier=args.carrier,
        limit=args.limit,
    )
    for number in found:
        _show_number(number, out, args.json)
    if not found and not args.json:
        out.write("no number is available that matches\n")
    return 0


async def _lease(
    book: Any, config: Config, args: argparse.Namespace, out: TextIO, err: TextIO
) -> int:
    tenant = args.tenant or config.tenant
    quote = await book.quote(
        tenant, args.number, parse_term(args.term), auto_renew=args.auto_renew, actor="cli"
    )
    question = (
        f"Lease {quote.number} to {tenant} for {quote.term} at {quote.amount} {quote.currency}"
        f" (minor units){' with auto-renewal' if quote.auto_renew else ''}?"
    )
    if not args.yes:
        if not sys.stdin.isatty():
            err.write(f"{question}\nseptet: pass --yes to confirm\n")
            return 1
        answer = await trio.to_thread.run_sync(input, f"{question} [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            err.write("septet: not leased\n")
            return 1
    lease = await book.lease(tenant, quote.id, actor="cli")
    _show_lease(lease, out, args.json)
    return 0


async def _list(book: Any, config: Config, args: argparse.Namespace, out: TextIO, _: TextIO) -> int:
    leases = await book.leases(args.tenant or config.tenant, active_only=not args.all)
    for lease in leases:
        _show_lease(lease, out, args.json)
    if not leases and not args.json:
        out.write("no lease\n")
    return 0


async def _lease_of(book: Any, tenant: str, which: str) -> str:
    """The id of the tenant's running lease of ``which`` (a number), or ``which``."""
    if not which.startswith("+"):
        return which
    for lease in await book.leases(tenant):
        if lease.number == which:
            return cast(str, lease.id)
    raise KeyError(f"{tenant} leases no {which}")


async def _renew(
    book: Any, config: Config, args: argparse.Namespace, out: TextIO, _: TextIO
) -> int:
    tenant = args.tenant or config.tenant
    term = None if args.term is None else parse_term(args.term)
    lease = await book.renew(tenant, await _lease_of(book, tenant, args.lease), term, actor="cli")
    _show_lease(lease, out, args.json)
    return 0


async def _release(
    book: Any, config: Config, args: argparse.Namespace, out: TextIO, _: TextIO
) -> int:
    tenant = args.tenant or config.tenant
    lease = await book.release(tenant, await _lease_of(book, tenant, args.lease), actor="cli")
    if args.json:
        _show_lease(lease, out, True)
    else:
        until = lease.cooling_off_until.astimezone().strftime("%Y-%m-%d %H:%M")
        out.write(f"{lease.number} released; it cools off until {until}\n")
    return 0


def _run_numbers(args: argparse.Namespace) -> int:
    from ._cli_serve import _config, _fail

    try:
        config = _config(args)
        configure_logging(config.log)  # on stderr: stdout is the command's answer
        status: int = trio.run(_run, config, args, sys.stdout, sys.stderr)
    except SeptetError as error:
        return _fail(sys.stderr, error)
    except KeyError as error:
        sys.stderr.write(f"septet: {error.args[0] if error.args else error}\n")
        return 1
    return status


def add_numbers_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``numbers`` (add, search, lease, list, renew, release) to the command line."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", help="TOML config (default: built-in defaults)")
    common.add_argument("--data-dir", metavar="DIR", help="override the config's data_dir")
    common.add_argument("--json", action="store_true", help="one JSON object per line")
    as_tenant = argparse.ArgumentParser(add_help=False)
    as_tenant.add_argument("--tenant", help="act as this tenant (default: the config's tenant)")

    numbers = commands.add_parser(
        "numbers",
        help="rent numbers: search, lease, list, renew, release",
        description="Rent numbers to tenants, on the data directory's inbox: a running engine "
        "follows the changes within [numbers] watch_seconds. Amounts are in minor units.",
    )
    actions = numbers.add_subparsers(dest="numbers_command", required=True)

    def action(name: str, handler: Any, helptext: str, *parents: argparse.ArgumentParser) -> Any:
        parser = actions.add_parser(name, parents=[common, *parents], help=helptext)
        parser.set_defaults(handler=_run_numbers, numbers_action=handler)
        return parser

    add = action("add", _add, "put a number in the inventory (operators)")
    add.add_argument("number", help="E.164, e.g. +447700900123")
    add.add_argument("--country", required=True, help="ISO 3166 alpha-2, e.g. GB")
    add.add_argument("--carrier", required=True, help="the carrier instance it arrives on")
    add.add_argument(
        "--price", action="append", required=True, help="UNIT=AMOUNT in minor units (day=90)"
    )
    add.add_argument("--currency", required=True, help="ISO 4217, e.g. GBP")
    add.add_argument("--region", help="a region within the country")
    add.add_argument("--capability", action="append", choices=("sms", "mms", "voice"))

    search = action("search", _search, "the numbers available to lease")
    search.add_argument("--country", help="ISO 3166 alpha-2, e.g. GB")
    search.add_argument(
        "--capability", action="append", choices=("sms", "mms", "voice"), help="repeatable"
    )
    search.add_argument("--carrier", help="only numbers on this carrier instance")
    search.add_argument("--limit", type=int, default=20, help="how many (default 20)")

    lease = action("lease", _lease, "quote a lease, then confirm it", as_tenant)
    lease.add_argument("number", help="E.164")
    lease.add_argument("--term", required=True, help="12h, 7d, 3mo")
    lease.add_argument("--auto-renew", action="store_true", help="renew by itself at expiry")
    lease.add_argument("--yes", "-y", action="store_true", help="confirm without asking")

    listing = action("list", _list, "the tenant's leases with the time left", as_tenant)
    listing.add_argument("--all", action="store_true", help="ended leases too")

    renew = action("renew", _renew, "extend a lease from its expiry", as_tenant)
    renew.add_argument("lease", help="the leased number, or the lease id")
    renew.add_argument("--term", help="default: the term it was leased for")

    release = action("release", _release, "end a lease now", as_tenant)
    release.add_argument("lease", help="the leased number, or the lease id")
