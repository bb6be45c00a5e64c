"""The systems under comparison: how each is installed, configured, started and stopped.

Each system binds to the SMSC simulator as an ESME (``system_id`` and password below)
and forwards every inbound message to the sink, in its own documented way:

* **Septet** (this checkout's ``septet serve``): the ``smpp`` carrier, one
  ``bind_receiver`` with its default window, and a ``webhook`` destination with its
  default delivery policy; the inbox on SQLite in a fresh data directory.
* **Kannel** (Debian's ``bearerbox`` and ``smsbox``): one SMPP smsc in transceiver mode
  and an ``sms-service`` whose ``get-url`` calls the sink with ``%p %c %C %u %b``;
  ``sms-combine-concatenated-mo`` on (its default, stated), ``max-messages = 0`` so no
  reply SMS goes back, no message store (Kannel's default: it answers deliver_sm before
  anything is on disk).
* **Jasmin** (PyPI, in a virtual environment of its own, see :mod:`jasmin_peer`): with
  RabbitMQ and Redis from Debian.

Every process is started in a process group of its own and stopped (SIGTERM, then
SIGKILL) when its block exits, on error or Ctrl-C too. Ports are checked free on
127.0.0.1 by binding port 0.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from pathlib import Path
from typing import Final, Protocol

import trio

from engine import signing

__all__ = [
    "KannelSystem",
    "SeptetSystem",
    "System",
    "free_port",
    "run_process",
    "wait_for_port",
]

ROOT: Final = Path(__file__).resolve().parents[2]
_STOP_SECONDS: Final = 10.0


class System(Protocol):
    """One system under comparison."""

    name: str
    system_id: str
    """The ESME account it binds with."""
    password: str
    sink_path: str
    """The sink path it forwards to (``/septet``, ``/jasmin``, ``/kannel``)."""

    def install(self) -> None:
        """Install what is missing (idempotent), saying what it does."""

    def running(
        self, workdir: Path, smsc_port: int, sink_url: str
    ) -> AbstractAsyncContextManager[None]:
        """Start it bound to ``127.0.0.1:smsc_port``, forwarding to ``sink_url``."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def wait_for_port(port: int, timeout: float, what: str) -> None:
    """Wait until something accepts connections on ``127.0.0.1:port``; after ``timeout``
    seconds, :class:`RuntimeError` names ``what`` did not come up."""
    with trio.move_on_after(timeout):
        while True:
            try:
                stream = await trio.open_tcp_stream("127.0.0.1", port)
            except OSError:
                await trio.sleep(0.1)
            else:
                await stream.aclose()
                return
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:g} s")


@asynccontextmanager
async def run_process(
    command: Sequence[str],
    *,
    log: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> AsyncIterator[trio.Process]:
    """Run ``command`` in a process group of its own, its output in ``log``, until the
    block exits; then SIGTERM the group, and SIGKILL it after 10 s."""
    with log.open("ab") as output:
        process = await trio.lowlevel.open_process(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        with trio.CancelScope(shield=True):
            await _stop_group(process)


async def _stop_group(process: trio.Process) -> None:
    for sig, wait in ((signal.SIGTERM, _STOP_SECONDS), (signal.SIGKILL, _STOP_SECONDS)):
        with suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with trio.move_on_after(wait):
            await process.wait()
            return


def _say(message: str) -> None:
    print(f"[peers] {message}", file=sys.stderr, flush=True)


# --- Septet ------------------------------------------------------------------------------


class SeptetSystem:
    """This checkout's ``septet serve``."""

    name = "septet"
    system_id = "septet"
    password = "septet"
    sink_path = "/septet"

    def __init__(self, secret: str, *, max_concurrency: int | None = None) -> None:
        self.secret = secret
        self.max_concurrency = max_concurrency

    def install(self) -> None:
        septet = ROOT / ".venv" / "bin" / "septet"
        if not septet.exists():
            raise RuntimeError(f"{septet} is missing: run `make run` once to build Septet")
        _say(f"septet: using {septet.relative_to(ROOT)}")

    def config(self, workdir: Path, smsc_port: int, sink_url: str) -> str:
        """The TOML configuration ``septet serve`` runs with."""
        data = (workdir / "septet-data").as_posix()
        policy = ""
        if self.max_concurrency is not None:
            policy = f"\n[destinations.policy]\nmax_concurrency = {self.max_concurrency}\n"
        return f"""\
data_dir = "{data}"

[log]
format = "json"
level = "warning"

[[carriers]]
name = "simulator"
adapter = "smpp"

[[carriers.config.smscs]]
host = "127.0.0.1"
port = {smsc_port}
system_id = "{self.system_id}"
password = "{self.password}"

[[destinations]]
name = "sink"
adapter = "webhook"

[destinations.config]
url = "{sink_url}{self.sink_path}"
secrets = ["{self.secret}"]
allow_hosts = ["127.0.0.1"]
{policy}
[routes]
default = ["sink"]
"""

    @asynccontextmanager
    async def running(self, workdir: Path, smsc_port: int, sink_url: str) -> AsyncIterator[None]:
        config = workdir / "septet.toml"
        config.write_text(self.config(workdir, smsc_port, sink_url))
        command = [str(ROOT / ".venv" / "bin" / "septet"), "serve", "--config", str(config)]
        async with run_process(command, log=workdir / "septet.log", cwd=workdir):
            yield


def new_secret() -> str:
    """A webhook signing secret for Septet's destination (and the sink that checks it)."""
    return signing.generate_secret()


# --- Kannel ------------------------------------------------------------------------------


class KannelSystem:
    """Debian's Kannel: ``bearerbox`` (the SMSC link) and ``smsbox`` (the get-url)."""

    name = "kannel"
    system_id = "kannel"
    password = "kannel"
    sink_path = "/kannel"

    def install(self) -> None:
        if shutil.which("bearerbox") and shutil.which("smsbox"):
            _say("kannel: bearerbox and smsbox are installed")
            return
        _say("kannel: installing Debian's kannel package (apt-get)")
        _apt_install(["kannel"])

    def config(self, workdir: Path, smsc_port: int, sink_url: str, ports: dict[str, int]) -> str:
        """Kannel's configuration file (one file for both boxes)."""
        get_url = f"{sink_url}{self.sink_path}?from=%p&to=%P&coding=%c&charset=%C&udh=%u&text=%b"
        return f"""\
group = core
admin-port = {ports["admin"]}
admin-interface = 127.0.0.1
admin-password = peers-bench
smsbox-port = {ports["smsbox"]}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
log-file = "{workdir}/bearerbox.log"
log-level = 2
access-log = "{workdir}/access.log"
sms-combine-concatenated-mo = true
dlr-storage = internal

group = smsc
smsc = smpp
smsc-id = simulator
host = 127.0.0.1
port = {smsc_port}
transceiver-mode = true
smsc-username = {self.system_id}
smsc-password = {self.password}
system-type = ""
enquire-link-interval = 30
reconnect-delay = 1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {ports["smsbox"]}
log-file = "{workdir}/smsbox.log"
log-level = 2

group = sms-service
keyword = default
catch-all = true
max-messages = 0
get-url = "{get_url}"
"""

    @asynccontextmanager
    async def running(self, workdir: Path, smsc_port: int, sink_url: str) -> AsyncIterator[None]:
        ports = {"admin": free_port(), "smsbox": free_port()}
        config = workdir / "kannel.conf"
        config.write_text(self.config(workdir, smsc_port, sink_url, ports))
        bearerbox = shutil.which("bearerbox") or "/usr/sbin/bearerbox"
        smsbox = shutil.which("smsbox") or "/usr/sbin/smsbox"
        async with run_process([bearerbox, str(config)], log=workdir / "bearerbox.out"):
            await wait_for_port(ports["smsbox"], 30, "bearerbox")
            async with run_process([smsbox, str(config)], log=workdir / "smsbox.out"):
                yield


def _apt_install(packages: list[str]) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=env)
