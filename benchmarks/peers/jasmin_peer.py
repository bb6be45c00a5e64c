"""Jasmin for the comparison: installed from PyPI in a virtual environment of its own,
with RabbitMQ and Redis from Debian, all run on 127.0.0.1 ports chosen free.

* ``install`` puts ``rabbitmq-server`` and ``redis-server`` in with apt-get when they are
  missing, and ``jasmin`` (pinned, :data:`JASMIN_VERSION`) in
  ``~/.cache/septet-peers/jasmin-venv`` (``SEPTET_PEERS_CACHE`` moves it), made with this
  Python (3.11, which Jasmin 0.11 supports).
* ``running`` starts Redis (no persistence), a RabbitMQ node of its own (its own node
  name, ports, data and Erlang cookie, under the run's directory), then ``jasmind``
  with its deliver_sm thrower in the same process (``--enable-deliver-thrower``, which
  needs its SMPP server on too; the HTTP API it does not need is off), its logs at
  WARNING like the other systems'. Everything Jasmin writes lives under the run's
  directory (``ROOT_PATH``, ``LOG_PATH``). It is then configured through jCli, its
  telnet console, as its documentation shows: an SMPP client connector bound to the
  simulator (transceiver), an HTTP client connector to the sink (POST), a default MO
  route between them.

Jasmin reassembles a multipart message in Redis under (connector, reference number,
destination address), for 300 s, and only when the last part arrives; the benchmark
keeps Jasmin's behaviour as it is and counts what it loses.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final

import trio
from systems import free_port, run_process, wait_for_port

__all__ = ["JASMIN_VERSION", "JasminSystem", "cache_dir"]

JASMIN_VERSION: Final = "0.11.1"
_PROMPTS: Final = (b"jcli : ", b"> ", b"Password: ")
_GREETING: Final = b"Authentication required."
_JCLI_USER: Final = "jcliadmin"
_JCLI_PASSWORD: Final = "jclipwd"
_PORTS: Final = (
    *("redis", "amqp", "dist", "epmd"),
    *("management", "router", "jcli", "smpp-server", "smpp-server-pb"),
)
"""The 127.0.0.1 ports one run takes: Redis, RabbitMQ's AMQP, Erlang distribution and
epmd, and Jasmin's own listeners."""
_RABBITMQ_SERVER: Final = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")


def cache_dir() -> Path:
    """Where the benchmark keeps what it installs: ``~/.cache/septet-peers``."""
    default = Path.home() / ".cache" / "septet-peers"
    return Path(os.environ.get("SEPTET_PEERS_CACHE", default))


def _say(message: str) -> None:
    print(f"[peers] {message}", file=sys.stderr, flush=True)


class JasminSystem:
    """Jasmin 0.11 with RabbitMQ and Redis."""

    name = "jasmin"
    system_id = "jasmin"
    password = "jasmin"
    sink_path = "/jasmin"

    def __init__(self) -> None:
        self.venv = cache_dir() / "jasmin-venv"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def install(self) -> None:
        missing = [
            package
            for package, program in (("rabbitmq-server", _RABBITMQ_SERVER), ("redis-server", None))
            if not (program.exists() if program else shutil.which(package))
        ]
        if missing:
            _say(f"jasmin: installing {', '.join(missing)} from Debian (apt-get)")
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
            subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)
        else:
            _say("jasmin: rabbitmq-server and redis-server are installed")
        jasmind = self.venv / "bin" / "jasmind.py"
        if jasmind.exists() and self._installed_version() == JASMIN_VERSION:
            _say(f"jasmin: {JASMIN_VERSION} is installed in {self.venv}")
            return
        _say(f"jasmin: installing jasmin=={JASMIN_VERSION} from PyPI into {self.venv}")
        self.venv.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True)
        pip = [str(self.python), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, f"jasmin=={JASMIN_VERSION}"], check=True)

    def _installed_version(self) -> str | None:
        done = subprocess.run(
            [str(self.python), "-c", "import jasmin; print(jasmin.get_release())"],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip() if done.returncode == 0 else None

    def _amqp_spec(self) -> Path:
        done = subprocess.run(
            [str(self.python), "-c", "import txamqp, os; print(os.path.dirname(txamqp.__file__))"],
            capture_output=True,
            text=True,
            check=True,
        )
        return Path(done.stdout.strip()) / "specs" / "standard" / "amqp0-9-1.stripped.xml"

    def config(self, ports: dict[str, int], spec: Path) -> str:
        """``jasmin.cfg``: every listener on 127.0.0.1, logs at WARNING."""
        sections = {
            "client-management": {"bind": "127.0.0.1", "port": ports["management"]},
            "router": {"bind": "127.0.0.1", "port": ports["router"]},
            "redis-client": {"host": "127.0.0.1", "port": ports["redis"]},
            "amqp-broker": {"host": "127.0.0.1", "port": ports["amqp"], "spec": spec},
            # jCli's own default account (jcliadmin / jclipwd): only on 127.0.0.1.
            "jcli": {"bind": "127.0.0.1", "port": ports["jcli"], "authentication": "True"},
            # Its deliver_sm thrower needs the SMPP server (for MO routed to SMPP users).
            "smpp-server": {"bind": "127.0.0.1", "port": ports["smpp-server"]},
            "smpp-server-pb": {"bind": "127.0.0.1", "port": ports["smpp-server-pb"]},
            "sm-listener": {},
            "deliversm-thrower": {},
            "dlr-thrower": {},
        }
        lines = []
        for section, values in sections.items():
            lines.append(f"[{section}]")
            lines += [f"{key} = {value}" for key, value in values.items()]
            lines += ["log_level = WARNING", ""]
        return "\n".join(lines)

    @asynccontextmanager
    async def running(self, workdir: Path, smsc_port: int, sink_url: str) -> AsyncIterator[None]:
        ports = {name: free_port() for name in _PORTS}
        rabbit = workdir / "rabbitmq"
        for folder in ("mnesia", "log", "home"):
            (rabbit / folder).mkdir(parents=True)
        (rabbit / "enabled_plugins").write_text("[].\n")
        rabbit_env = {
            **os.environ,
            "HOME": str(rabbit / "home"),
            "RABBITMQ_NODENAME": f"septet-peers-{ports['amqp']}@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(ports["amqp"]),
            "RABBITMQ_DIST_PORT": str(ports["dist"]),
            "ERL_EPMD_PORT": str(ports["epmd"]),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_MNESIA_BASE": str(rabbit / "mnesia"),
            "RABBITMQ_LOG_BASE": str(rabbit / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(rabbit / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(rabbit / "rabbitmq"),
        }
        root = workdir / "jasmin-root"
        (root / "etc" / "jasmin" / "store").mkdir(parents=True)
        (workdir / "jasmin-log").mkdir()
        config = root / "etc" / "jasmin" / "jasmin.cfg"
        config.write_text(self.config(ports, self._amqp_spec()))
        jasmin_env = {**os.environ, "ROOT_PATH": str(root), "LOG_PATH": str(workdir / "jasmin-log")}
        redis = [
            shutil.which("redis-server") or "redis-server",
            "--bind", "127.0.0.1", "--port", str(ports["redis"]),
            "--save", "", "--appendonly", "no", "--dir", str(workdir),
        ]  # fmt: skip
        jasmind = [
            str(self.python),
            str(self.venv / "bin" / "jasmind.py"),
            "--config", str(config),
            "--disable-http-api", "--enable-deliver-thrower",
        ]  # fmt: skip
        async with run_process(redis, log=workdir / "redis.log"):
            await wait_for_port(ports["redis"], 30, "redis-server")
            async with _rabbitmq(rabbit_env, workdir, ports["epmd"]):
                await wait_for_port(ports["amqp"], 120, "rabbitmq-server")
                async with run_process(jasmind, log=workdir / "jasmind.log", env=jasmin_env):
                    await wait_for_port(ports["jcli"], 120, "jasmind's jCli")
                    await self.configure(ports["jcli"], smsc_port, sink_url, workdir)
                    yield

    async def configure(self, jcli_port: int, smsc_port: int, sink_url: str, workdir: Path) -> None:
        """Add the connectors and the default MO route through jCli."""
        commands = [
            "smppccm -a", "cid simulator", "host 127.0.0.1", f"port {smsc_port}",
            f"username {self.system_id}", f"password {self.password}", "bind transceiver",
            "ok",
            "httpccm -a", "cid sink", f"url {sink_url}{self.sink_path}", "method POST", "ok",
            "morouter -a", "type DefaultRoute", "connector http(sink)", "ok",
            "smppccm -1 simulator",
        ]  # fmt: skip
        transcript = await _jcli(jcli_port, commands)
        (workdir / "jcli.log").write_text(transcript)
        for expected in (
            "Successfully added connector [simulator]",
            "Successfully added Httpcc",
            "Successfully added MORoute",
            "Successfully started connector id:simulator",
        ):
            if expected.lower() not in transcript.lower():
                raise RuntimeError(f"jCli did not confirm {expected!r}:\n{transcript}")


@asynccontextmanager
async def _rabbitmq(env: dict[str, str], workdir: Path, epmd_port: int) -> AsyncIterator[None]:
    """A RabbitMQ node; its epmd (which Erlang starts as a daemon) is told to stop after."""
    try:
        async with run_process([str(_RABBITMQ_SERVER)], log=workdir / "rabbitmq.out", env=env):
            yield
    finally:
        epmd = shutil.which("epmd") or "/usr/bin/epmd"
        if Path(epmd).exists():
            with trio.CancelScope(shield=True), trio.move_on_after(10):
                await trio.run_process(
                    [epmd, "-port", str(epmd_port), "-kill"],
                    env={**os.environ, "ERL_EPMD_PORT": str(epmd_port)},
                    check=False,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )


async def _jcli(port: int, commands: list[str]) -> str:
    """Log in to jCli on 127.0.0.1:``port``, send ``commands``, return the transcript.

    jCli echoes each line and ends every answer with a prompt: ``jcli : `` at the top,
    ``> `` inside an add session, ``Password: `` after the user name. It opens with
    "Authentication required." and no prompt, so the user name goes after that.
    """
    transcript = bytearray()
    with trio.fail_after(60):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            buffer = bytearray()

            async def until(done: Callable[[bytes], bool]) -> None:
                while not done(bytes(buffer)):
                    data = await stream.receive_some(65536)
                    if not data:
                        raise RuntimeError("jCli closed the connection")
                    buffer.extend(data)
                transcript.extend(buffer)
                buffer.clear()

            def prompted(data: bytes) -> bool:
                return data.endswith(_PROMPTS)

            await until(lambda data: _GREETING in data)
            for line in (_JCLI_USER, _JCLI_PASSWORD, *commands):
                await stream.send_all(line.encode() + b"\r\n")
                await until(prompted)
            await stream.send_all(b"quit\r\n")
    return transcript.replace(b"\r", b"").decode("utf-8", errors="replace")
