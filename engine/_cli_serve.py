"""``septet serve``, ``septet sim send`` and ``septet messages``."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import msgspec
import trio

from ._logging import configure_logging, get_logger
from .config import Config, load_config
from .errors import ConfigError, PluginError, SeptetError, StoreError

if TYPE_CHECKING:
    from ._engine import Septet

__all__ = ["add_engine_commands"]

_json = msgspec.json.Encoder()


def _config(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    if getattr(args, "data_dir", None):
        config = msgspec.structs.replace(config, data_dir=args.data_dir)
    return config


def _fail(err: TextIO, error: Exception) -> int:
    kind = {ConfigError: "config error", PluginError: "plugin error", StoreError: "store error"}
    label = next((v for k, v in kind.items() if isinstance(error, k)), "error")
    err.write(f"septet: {label}: {error}\n")
    return 2 if isinstance(error, ConfigError | PluginError) else 1


# --- serve -----------------------------------------------------------------------------


async def _serve(config: Config, out: TextIO) -> None:
    from ._engine import open as open_engine  # the engine is only imported by this command
    from ._metrics_http import serve_metrics

    log = get_logger("septet.serve")
    Path(config.data_dir).mkdir(parents=True, exist_ok=True)
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with open_engine(config) as septet, trio.open_nursery() as nursery:
            if config.metrics.port is not None:
                port = await nursery.start(
                    serve_metrics, septet.metrics.render, config.metrics.host, config.metrics.port
                )
                log.info("metrics", url=f"http://{config.metrics.host}:{port}/metrics")
            if config.log.level in ("debug", "info"):
                # Each message is a log line at info; below that level, nothing to watch.
                nursery.start_soon(_log_messages, septet)
            if septet.api_url is not None:
                log.info("api", url=septet.api_url, rest_api=config.api.admin_key is not None)
            log.info(
                "ready",
                data_dir=config.data_dir,
                carriers=[c.name for c in config.carriers],
                destinations=[d.name for d in config.destinations],
            )
            out.write("septet: ready (Ctrl-C stops)\n")
            out.flush()
            async for signum in signals:
                log.info("stopping", signal=signal.Signals(signum).name)
                break
            nursery.cancel_scope.cancel()
    log.info("stopped")


async def _log_messages(septet: Septet) -> None:
    """Log each message as it is committed, so an operator sees traffic arrive."""
    log = get_logger("septet.inbox")
    async with septet.watch() as stream:
        async for message in stream:
            log.info(
                "message",
                id=message.id,
                carrier=message.carrier,
                number=message.number_used,
                sender=message.sender_id,
                parts=message.parts,
                code=message.otp.code if message.otp else None,
                flags=list(message.flags),
            )


def _run_serve(args: argparse.Namespace) -> int:
    try:
        config = _config(args)
        configure_logging(config.log)
        trio.run(_serve, config, sys.stdout)
    except SeptetError as error:
        return _fail(sys.stderr, error)
    return 0


# --- sim send --------------------------------------------------------------------------


def _sandbox_socket(args: argparse.Namespace, config: Config) -> str:
    if args.socket:
        return str(args.socket)
    for carrier in config.carriers:
        if carrier.adapter == "sandbox" and carrier.config.get("socket"):
            return str(carrier.config["socket"])
    raise ConfigError(
        "no sandbox carrier with a socket in the config; pass --socket", key="carriers"
    )


def _sim_request(args: argparse.Namespace) -> dict[str, Any]:
    request: dict[str, Any] = {}
    if args.preset:
        request["preset"] = args.preset
    if args.text is not None:
        request["text"] = args.text
    if args.number:
        request["number"] = args.number
    if args.sender:
        request["sender"] = args.sender
    elif "text" in request:
        request["sender"] = "Sandbox"
    if args.carrier_message_id:
        request["carrierMessageId"] = args.carrier_message_id
    if not request.get("preset") and "text" not in request:
        raise ConfigError("give a message text or --preset NAME", key="sim send")
    return request


def _run_sim_send(args: argparse.Namespace) -> int:
    from adapters.carriers.sandbox import SandboxRequestError, sandbox_send

    try:
        config = _config(args)
        socket_path = _sandbox_socket(args, config)
        request = _sim_request(args)
        replies = trio.run(sandbox_send, socket_path, request)
    except SeptetError as error:
        return _fail(sys.stderr, error)
    except SandboxRequestError as error:
        for reply in error.results:  # what was committed before the refusal
            sys.stdout.write(_json.encode(reply).decode() + "\n")
        sys.stderr.write(f"septet: the sandbox refused the request: {error}\n")
        return 1
    except OSError as error:
        sys.stderr.write(f"septet: cannot reach the sandbox carrier: {error}\n")
        return 1
    for reply in replies:
        sys.stdout.write(_json.encode(reply).decode() + "\n")
    return 0


# --- messages --------------------------------------------------------------------------


def _show(message: Any, *, as_json: bool, out: TextIO) -> None:
    if as_json:
        out.write(_json.encode(message).decode() + "\n")
        return
    code = message.otp.code if message.otp else "-"
    when = message.received_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    content = message.content.replace("\n", " ")
    out.write(f"{when}  {message.number_used:<16} {message.sender_id:<16} {code:<10} {content}\n")


async def _list_messages(config: Config, args: argparse.Namespace, out: TextIO) -> None:
    from .store import MessageQuery, open_store

    async with open_store(config.store, config.data_dir) as store:
        query = MessageQuery(
            tenant=config.tenant,
            number=args.number,
            sender=args.sender,
            has_otp=True if args.otp_only else None,
            limit=args.limit,
        )
        newest_first = list(await store.list_messages(query))
        for message in reversed(newest_first):
            _show(message, as_json=args.json, out=out)
        out.flush()
        last = newest_first[0].id if newest_first else None
        while args.follow:
            await trio.sleep(args.interval)
            query = msgspec.structs.replace(query, after=last, oldest_first=True, limit=1000)
            for message in await store.list_messages(query):
                _show(message, as_json=args.json, out=out)
                last = message.id
            out.flush()


def _run_messages(args: argparse.Namespace) -> int:
    try:
        config = _config(args)
        trio.run(_list_messages, config, args, sys.stdout)
    except SeptetError as error:
        return _fail(sys.stderr, error)
    except KeyboardInterrupt:
        return 0
    return 0


def add_engine_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``serve``, ``sim`` and ``messages`` to the command line."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", help="TOML config (default: built-in defaults)")
    common.add_argument("--data-dir", metavar="DIR", help="override the config's data_dir")

    serve = commands.add_parser(
        "serve",
        parents=[common],
        help="run the engine until interrupted",
        description="Run the engine: the inbox on SQLite in the data directory, the configured "
        "carriers, and Prometheus metrics when [metrics] port is set. SIGINT/SIGTERM stop it "
        "after the work in flight is committed.",
    )
    serve.set_defaults(handler=_run_serve)

    sim = commands.add_parser("sim", help="talk to the sandbox carrier of a running engine")
    sim_commands = sim.add_subparsers(dest="sim_command", required=True)
    send = sim_commands.add_parser(
        "send",
        parents=[common],
        help="inject a simulated inbound message",
        description="Send a message (or a preset) into the sandbox carrier; prints the engine's "
        "answer for each inbound item once it is committed.",
    )
    send.add_argument("text", nargs="?", help="the message text")
    send.add_argument("--preset", help="a sandbox preset, e.g. otp, multipart-out-of-order")
    send.add_argument("--number", help="the receiving number (E.164)")
    send.add_argument(
        "--from", dest="sender", help="the sender, a number or alphanumeric (default: Sandbox)"
    )
    send.add_argument("--id", dest="carrier_message_id", help="the carrier's message id")
    send.add_argument("--socket", help="the sandbox socket (default: from the config)")
    send.set_defaults(handler=_run_sim_send)

    messages = commands.add_parser(
        "messages",
        parents=[common],
        help="list the inbox",
        description="List the newest messages of the inbox, oldest of them first; --follow keeps "
        "printing new ones as they are committed.",
    )
    messages.add_argument("--number", help="only messages to this number")
    messages.add_argument("--sender", help="only messages from this sender")
    messages.add_argument("--otp-only", action="store_true", help="only messages with a code")
    messages.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    messages.add_argument("--follow", "-f", action="store_true", help="keep printing new ones")
    messages.add_argument("--interval", type=float, default=0.5, help=argparse.SUPPRESS)
    messages.add_argument("--json", action="store_true", help="one JSON object per line")
    messages.set_defaults(handler=_run_messages)
