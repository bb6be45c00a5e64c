"""SMPP ingest: deliver_sm through one bind to the durable commit, answered by deliver_sm_resp.

The SMSC is ``engine.testing``'s simulator, run in its own process (this script with
``--smsc``), so that it does not share the engine's interpreter. The engine runs the
``smpp`` carrier with one bind (``window`` 64 on both sides) on a fresh SQLite data
directory. The simulator sends ``--warm-up`` messages, then ``--messages`` more as fast as
the window lets it, and measures:

* messages per second, from the first deliver_sm of the measured run to its last answer;
  every answer must be ``ESME_ROK``, which the carrier sends only after the commit;
* the latency from writing each deliver_sm to reading its deliver_sm_resp, in an HDR
  histogram;
* the CPU time each process spends per message (the engine's split into its trio thread
  and the rest: the store's writer thread), since both share the machine's cores.

After the engine stopped, the inbox is counted in the SQLite file: it must hold every
message that was answered ``ESME_ROK``.

Usage: ``python benchmarks/smpp_load.py [--messages N] [--warm-up N] [--window N]
[--batch-rows N] [--batch-ms MS] [--linger-ms MS] [--markdown FILE]``. ``make bench``
runs it and adds its table to ``RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio
from hdrh.histogram import HdrHistogram

import engine
from engine._bench._child import LineReader
from engine.config import CarrierConfig, Config, StoreConfig
from engine.smpp import CommandStatus
from engine.testing import open_smsc_simulator, text_deliver_sms

TARGET = 20_000
NUMBERS = [f"+1555000{n:04d}" for n in range(50)]
TEXTS = [
    "Your verification code is {code}. It expires in 10 minutes.",
    "G-{code} is your Google verification code.",
    "Meeting moved to 3pm, see you there ({code})",
    "Ваш код подтверждения: {code}. Никому не сообщайте этот код.",
]


def _frames(count: int) -> list[bytes]:
    """Distinct deliver_sm PDUs to cycle through: GSM 7-bit and UCS-2, numeric and
    alphanumeric senders, 50 receiving numbers."""
    frames = []
    for index in range(count):
        text = TEXTS[index % len(TEXTS)].format(code=f"{(index * 7919) % 1_000_000:06d}")
        [pdu] = text_deliver_sms(
            text,
            sender="+15559990000" if index % 3 else "Acme",
            number=NUMBERS[index % len(NUMBERS)],
            coding="ucs2" if index % len(TEXTS) == 3 else "gsm7",
        )
        frames.append(pdu.encode())
    return frames


# --- the SMSC process ------------------------------------------------------------------


async def _smsc(args: argparse.Namespace) -> None:
    frames = _frames(1000)
    async with open_smsc_simulator({"bench": "bench"}, window=args.window) as smsc:
        print(f"PORT {smsc.port}", flush=True)
        session = await smsc.wait_for_session(timeout=60)
        cpu = time.process_time()
        await session.deliver_many(frames[i % len(frames)] for i in range(args.warm_up))
        started = time.perf_counter()
        responses = await session.deliver_many(
            frames[i % len(frames)] for i in range(args.messages)
        )
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
        histogram = HdrHistogram(1, 600_000_000, 3)  # microseconds
        statuses: dict[str, int] = {}
        for response in responses:
            statuses[str(response.command_status)] = (
                statuses.get(str(response.command_status), 0) + 1
            )
            if response.latency is not None:
                histogram.record_value(max(1, round(response.latency * 1e6)))
        result = {
            "sent": len(responses),
            "warm_up": args.warm_up,
            "seconds": seconds,
            "cpu": cpu,
            "statuses": statuses,
            "latency_ms": {
                str(p): histogram.get_value_at_percentile(p) / 1000 for p in (50, 90, 99, 99.9)
            }
            | {"max": histogram.get_max_value() / 1000},
        }
        print(json.dumps(result), flush=True)
        await session.unbind()


# --- the engine process ----------------------------------------------------------------


async def _read_line(lines: LineReader) -> str:
    line = await lines.readline()
    if line is None:
        raise RuntimeError("the SMSC process ended early")
    return line


async def run(
    args: argparse.Namespace, data_dir: str
) -> tuple[dict[str, Any], tuple[float, float]]:
    command = [sys.executable, __file__, "--smsc", f"--window={args.window}"]
    command += [f"--messages={args.messages}", f"--warm-up={args.warm_up}"]
    process = await trio.lowlevel.open_process(command, stdout=subprocess.PIPE)
    assert process.stdout is not None
    lines = LineReader(process.stdout)
    try:
        port = int((await _read_line(lines)).split()[1])
        smsc = {
            "host": "127.0.0.1",
            "port": port,
            "system_id": "bench",
            "password": "bench",
            "window": args.window,
        }
        config = Config(
            data_dir=data_dir,
            store=StoreConfig(
                batch_rows=args.batch_rows, batch_ms=args.batch_ms, linger_ms=args.linger_ms
            ),
            carriers=(CarrierConfig(name="smsc", adapter="smpp", config={"smscs": [smsc]}),),
        )
        async with engine.open(config):
            cpu, trio_cpu = time.process_time(), time.thread_time()
            with trio.fail_after(900):
                result = json.loads(await _read_line(lines))
            cpu, trio_cpu = time.process_time() - cpu, time.thread_time() - trio_cpu
        await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return result, (cpu, trio_cpu)


def markdown(
    result: dict[str, Any], stored: int, cpu: tuple[float, float], args: argparse.Namespace
) -> str:
    sent, seconds = result["sent"], result["seconds"]
    rok = result["statuses"].get(str(int(CommandStatus.ESME_ROK)), 0)
    others = {k: v for k, v in result["statuses"].items() if k != str(int(CommandStatus.ESME_ROK))}
    rate = rok / seconds
    latency = result["latency_ms"]
    expected = rok + result["warm_up"]
    total = sent + result["warm_up"]
    lines = [
        "## SMPP ingest: deliver_sm to durable commit to deliver_sm_resp",
        "",
        f"`python benchmarks/smpp_load.py --messages {args.messages} --warm-up {args.warm_up}"
        f" --window {args.window} --batch-rows {args.batch_rows} --batch-ms {args.batch_ms}"
        f" --linger-ms {args.linger_ms}`;"
        f" one bind (`bind_receiver`), window {args.window} on both sides; the SMSC"
        " (`engine.testing`'s simulator) in its own process on 127.0.0.1, the engine with the"
        " `smpp` carrier in this one, both on the same 2 cores (shared with anything else"
        " running, so the numbers are indicative). The carrier hands the deliver_sm PDUs"
        " that one read brings to `emit.many`, which commits them in one store write; each"
        " deliver_sm_resp goes out after its message's commit.",
        "",
        "| measure | result | target | met |",
        "|---|---|---|---|",
        f"| throughput, one bind, window {args.window}, every answer after the commit "
        f"| {rate:,.0f} msg/s ({rok:,} in {seconds:.1f} s) | ≥ {TARGET:,} msg/s "
        f"| {'yes' if rate >= TARGET else 'no'} |",
        "| deliver_sm → deliver_sm_resp p50 / p90 / p99 / p99.9 / max "
        f"| {latency['50']:.2f} / {latency['90']:.2f} / {latency['99']:.2f} / "
        f"{latency['99.9']:.2f} / {latency['max']:.2f} ms | | |",
        f"| answers: `ESME_ROK` / other | {rok:,} / {sum(others.values()):,} {others or ''} "
        f"| all `ESME_ROK` | {'yes' if not others else 'no'} |",
        f"| inbox after the run (warm-up included) | {stored:,} stored of {total:,} sent,"
        f" {expected:,} acknowledged | every acknowledged message stored "
        f"| {'yes' if stored >= expected else 'no'} |",
        f"| engine process CPU per message (trio thread + store and other threads) "
        f"| {cpu[0] / max(1, total) * 1e6:.0f} µs ({cpu[1] / max(1, total) * 1e6:.0f} + "
        f"{(cpu[0] - cpu[1]) / max(1, total) * 1e6:.0f}) | | |",
        f"| SMSC simulator process CPU per message | {result['cpu'] / max(1, total) * 1e6:.0f} µs"
        " | | |",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--warm-up", type=int, default=5_000)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--batch-rows", type=int, default=512)
    parser.add_argument("--batch-ms", type=float, default=StoreConfig().batch_ms)
    parser.add_argument("--linger-ms", type=float, default=StoreConfig().linger_ms)
    parser.add_argument("--markdown", help="write the Markdown table to this file")
    parser.add_argument("--smsc", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.smsc:
        trio.run(_smsc, args)
        return 0
    with tempfile.TemporaryDirectory() as data_dir:
        result, cpu = trio.run(run, args, data_dir)
        with sqlite3.connect(Path(data_dir) / "septet.db") as db:
            stored = db.execute("SELECT count(*) FROM messages").fetchone()[0]
    table = markdown(result, stored, cpu, args)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
