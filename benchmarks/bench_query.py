"""Round-trip time of ``:READ?`` through the unmodified PyMeasure Keithley2450 driver.

Measured in one run, on this machine:

- **echo**: a bare TCP echo round trip (raw socket client, echo server in its own process): the baseline;
- **pyvisa-py echo**: a pyvisa-py ``query`` against that echo server (what pyvisa-py itself costs);
- **pyvisa-py in-proc**: a pyvisa-py ``query(":READ?")`` against a trivial server in a thread of this
  process that answers every line with a fixed reading: the in-process baseline of issue 12;
- **@tspcm**: ``Keithley2450("GPIB0::18::INSTR", visa_library="@tspcm").current`` (in-process bench);
- **driver echo**: the same driver and pyvisa-py (``Keithley2450(...).current``) against that echo server:
  issue 12's "same client against a trivial echo server". The echo of ``:READ?`` is no number, so
  PyMeasure's ``values`` keeps it as text after a failed ``float``: the TCP row's client code, all of it;
- **TCP**: the same driver through pyvisa-py to ``tspcm sim serve`` running in its own process;
- **TCP server floor**: the same driver to the same server (``tspcm sim serve``, :class:`SimServer`) in
  its own process, serving the transport tests' probe instrument, whose ``READ?`` answers a formatted
  number at once: what the TCP row costs with no instrument model behind the server (its floor);
- **TCP physics floor**: the same driver to :class:`SimServer` in its own process, serving an instrument
  whose ``handle`` runs the reading's physics alone (the default bench's ``CellArray.read_one`` at the
  TCP row's level, aperture, limit and path resistance) and formats it: what the TCP row costs with the
  device model but without the SCPI engine, the 2450 model and the bench around them;
- **raw socket TCP**: ``:READ?`` sent to that server from a raw socket (the server's and model's share);
- **model handle()**: the emulated instrument's ``handle(":READ?")`` alone, no transport, no driver (the
  transports' own cost is what the other rows add to it), in a tight loop;
- **handle() after a yield**: the same call, timed alone, each right after a ``time.sleep(0)`` (a system
  call that gives the CPU away when anything else can run): about twice the tight loop's figure on this
  machine even with nothing else to run. The server's handler always runs right after the kernel did (a
  blocking receive, the switches between client and server), so this, not the tight loop, is the closer
  figure for it.

Goals (issue 12, which replaced issue 3's absolute ones):
@tspcm within 4x of the pyvisa-py in-process query; TCP within 2x of "the same client against a trivial
echo server", the driver echo row. The ratio to a bare pyvisa-py query of the echo (without the driver's
own work) is printed too, as a stricter comparison.

Run: ``.venv/bin/python benchmarks/bench_query.py [--queries 2000] [--repeats 5] [--runs 5] [--probe]``. Uses the
emulated Keithley 2450 (``sim_backend.bench``); ``--probe`` (or a missing bench) uses the transport
tests' probe instrument instead, whose ``READ?`` costs nothing, to see the transports' own cost.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SMU = "GPIB0::18::INSTR"

ECHO_SERVER = r"""
import socket, sys, threading
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0)); srv.listen(8)
print(srv.getsockname()[1], flush=True)
def serve(conn):
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        data = conn.recv(65536)
        if not data:
            return
        conn.sendall(data)
while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"""


#: SimServer in its own process serving the reading's physics alone (the TCP physics floor row); the same
#: settings as setup_smu: 0.1 V, NPLC 0.01 at 60 Hz, 1 mA limit, the SMU path's resistance
PHYSICS_SERVER = r"""
import sys
import threading
sys.path.insert(0, sys.argv[1])
from sim_backend.bench import open_bench
from sim_backend.server import SimServer
bench = open_bench("")
w = bench.wiring
r_path = w.smu_series_ohm + w.lead_ohm + w.sense_ohm
aperture_s = 0.01 / 60.0

class ReadingPhysics:
    def handle(self, message):
        i = bench.model.read_one(0.1, aperture_s, r_series_ohm=r_path, ilimit_a=1e-3, c_node_f=w.c_probe_f)[0]
        return "%.6E" % i

class Served:
    instruments = {"GPIB0::18::INSTR": ReadingPhysics()}

server = SimServer(Served(), base_port=0)
print(server.start()["GPIB0::18::INSTR"], flush=True)
threading.Event().wait()  # serve until terminated
"""


def start_inproc_server() -> tuple[int, threading.Thread]:
    """A trivial SCPI server in a thread of this process: every line gets one fixed reading back."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def serve() -> None:
        conn, _ = srv.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
            while b"\n" in buf:
                _, buf = buf.split(b"\n", 1)
                conn.sendall(b"+1.234567E-05\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return srv.getsockname()[1], thread


def per_query_us(candidates: dict, queries: int, repeats: int) -> dict[str, float]:
    """Mean time of one call of each candidate, in microseconds: the median over ``repeats`` batches.

    Batches of the candidates alternate (echo, pyvisa-py echo, @tspcm, TCP, echo, ...), so that a
    change of machine load or CPU placement during the run hits all of them alike.
    """
    batches: dict[str, list[float]] = {name: [] for name in candidates}
    for fn in candidates.values():
        for _ in range(min(200, queries)):
            fn()  # warm up
    for _ in range(repeats):
        for name, fn in candidates.items():
            start = time.perf_counter()
            for _ in range(queries):
                fn()
            batches[name].append((time.perf_counter() - start) / queries * 1e6)
    return {name: statistics.median(values) for name, values in batches.items()}


def after_yield_us(fn, queries: int, repeats: int) -> float:
    """Mean time of one ``fn()`` in microseconds, each timed alone right after a ``time.sleep(0)`` (the median
    over ``repeats`` batches): a call that runs right after the kernel did, as a server's handler does after
    each blocking receive, instead of in a tight loop that keeps everything it touches warm."""
    clock = time.perf_counter
    batches = []
    for _ in range(repeats):
        total = 0.0
        for _ in range(queries):
            time.sleep(0)
            start = clock()
            fn()
            total += clock() - start
        batches.append(total / queries * 1e6)
    return statistics.median(batches)


def real_bench_available() -> str | None:
    """None if the emulated Keithley 2450 is there, else why not."""
    try:
        from sim_backend.bench import open_bench

        bench = open_bench("")
    except Exception as exc:  # not written yet, or broken
        return f"{type(exc).__name__}: {exc}"
    if SMU not in bench.instruments:
        return f"the default bench has no {SMU}"
    return None


def start_process(
    args: list[str], pattern: str, last_line: str | None = None, timeout_s: float = 60.0
) -> tuple[subprocess.Popen, re.Match]:
    """Start ``args``; read its output until ``pattern`` matches (and ``last_line`` was printed)."""
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    deadline = time.monotonic() + timeout_s
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if last_line is None or line.strip() == last_line:
            match = re.search(pattern, "".join(seen))
            if match:
                return proc, match
    proc.kill()
    raise RuntimeError(f"{args[:3]} did not start: {''.join(seen)!r}")


def pin_cpu(requested: int | None) -> int | None:
    """Pin this process (and so the servers it starts) to one CPU; returns it, or None."""
    if requested == -1 or not hasattr(os, "sched_setaffinity"):
        return None
    cpu = min(os.sched_getaffinity(0)) if requested is None else requested
    os.sched_setaffinity(0, {cpu})
    return cpu


def setup_smu(smu, probe: bool) -> None:
    """Put the 2450 in a state where ``current`` (``:READ?``) returns a reading."""
    if probe:
        return
    smu.reset()
    smu.apply_voltage(compliance_current=1e-3)
    smu.measure_current(nplc=0.01)
    smu.source_voltage = 0.1
    smu.enable_source()


def measure(args, probe: bool, serve_cmd: list[str]) -> dict[str, float]:
    """One run: fresh servers, every row's time per query (us, median of the batches), and the 2450's
    handle() after a yield (row "handle() after a yield")."""
    import pyvisa
    from pymeasure.instruments.keithley import Keithley2450

    procs = []
    try:
        echo_proc, match = start_process([sys.executable, "-c", ECHO_SERVER], r"^(\d+)")
        procs.append(echo_proc)
        echo_port = int(match.group(1))
        sim_proc, match = start_process(serve_cmd, r"GPIB0::18::INSTR\s+TCPIP::127\.0\.0\.1::(\d+)::SOCKET", "ready")
        procs.append(sim_proc)
        sim_port = int(match.group(1))
        floor_cmd = [sys.executable, str(ROOT / "tests" / "transport" / "serve_probe.py"), "serve", "--port", "0"]
        floor_proc, match = start_process(floor_cmd, r"GPIB0::18::INSTR\s+TCPIP::127\.0\.0\.1::(\d+)::SOCKET", "ready")
        procs.append(floor_proc)
        floor_port = int(match.group(1))

        sock = socket.create_connection(("127.0.0.1", echo_port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        physics_port = None
        if not probe:  # the physics floor serves the device model's reading: not with the probe instrument
            physics_proc, match = start_process([sys.executable, "-c", PHYSICS_SERVER, str(ROOT)], r"^(\d+)")
            procs.append(physics_proc)
            physics_port = int(match.group(1))

        sim_sock = socket.create_connection(("127.0.0.1", sim_port))
        sim_sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def round_trip(s: socket.socket) -> None:
            s.sendall(b":READ?\n")
            data = s.recv(4096)
            while not data.endswith(b"\n"):
                data += s.recv(4096)

        def echo() -> None:
            round_trip(sock)

        rm = pyvisa.ResourceManager("@py")
        echo_res = rm.open_resource(
            f"TCPIP::127.0.0.1::{echo_port}::SOCKET", read_termination="\n", write_termination="\n"
        )
        inproc_port, _ = start_inproc_server()
        inproc_res = rm.open_resource(
            f"TCPIP::127.0.0.1::{inproc_port}::SOCKET", read_termination="\n", write_termination="\n"
        )
        smu_local = Keithley2450(SMU, visa_library="seed=1@tspcm")
        setup_smu(smu_local, probe)
        smu_tcp = Keithley2450(
            f"TCPIP::127.0.0.1::{sim_port}::SOCKET", visa_library="@py", read_termination="\n", write_termination="\n"
        )
        setup_smu(smu_tcp, probe)
        smu_echo = Keithley2450(
            f"TCPIP::127.0.0.1::{echo_port}::SOCKET", visa_library="@py", read_termination="\n", write_termination="\n"
        )
        smu_physics = (
            Keithley2450(
                f"TCPIP::127.0.0.1::{physics_port}::SOCKET",
                visa_library="@py",
                read_termination="\n",
                write_termination="\n",
            )
            if physics_port
            else None
        )
        smu_floor = Keithley2450(
            f"TCPIP::127.0.0.1::{floor_port}::SOCKET",
            visa_library="@py",
            read_termination="\n",
            write_termination="\n",
        )
        import pyvisa_tspcm

        smu_model = pyvisa_tspcm.get_bench("seed=1").instruments[SMU]  # the one behind smu_local
        candidates = {
            "echo": echo,
            "model handle()": lambda: smu_model.handle(":READ?"),
            "raw socket TCP": lambda: round_trip(sim_sock),
            "pyvisa-py echo": lambda: echo_res.query(":READ?"),
            "pyvisa-py in-proc": lambda: inproc_res.query(":READ?"),
            "@tspcm": lambda: smu_local.current,
            "driver echo": lambda: smu_echo.current,
            "TCP": lambda: smu_tcp.current,
            "TCP server floor": lambda: smu_floor.current,
        }
        if smu_physics is not None:
            candidates["TCP physics floor"] = lambda: smu_physics.current
        results = per_query_us(candidates, args.queries, args.repeats)
        sock.close()
        sim_sock.close()
        echo_res.close()
        inproc_res.close()
        smu_tcp.adapter.close()
        smu_echo.adapter.close()
        smu_floor.adapter.close()
        if smu_physics is not None:
            smu_physics.adapter.close()
        results["handle() after a yield"] = after_yield_us(
            lambda: smu_model.handle(":READ?"), args.queries, args.repeats
        )
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=2000, help="queries per batch (default 2000)")
    parser.add_argument("--repeats", type=int, default=5, help="batches; the median is reported (default 5)")
    parser.add_argument(
        "--runs",
        type=int,
        default=5,
        help="runs, each with fresh server processes; every row is the median over the runs (default 5): a"
        " server process can be ~10 us slower per query for all of its life, now and then (its address"
        " layout: not with address randomization off)",
    )
    parser.add_argument(
        "--cpu",
        type=int,
        default=None,
        help="pin client and servers to this CPU (default: the first allowed one; -1: no pinning)."
        " On one CPU every round trip pays the same context switches, instead of a"
        " cross-core wake-up whose cost depends on where the scheduler put each process.",
    )
    parser.add_argument(
        "--probe",
        action="store_true",
        help="use the transport tests' probe instrument (trivial READ?) instead of the 2450 "
        "model, to measure what the transports and the driver cost on their own",
    )
    args = parser.parse_args(argv)
    cpu = pin_cpu(args.cpu)

    why_not = "--probe given" if args.probe else real_bench_available()
    probe = why_not is not None
    if probe:
        print(f"NOTE: not using the emulated Keithley 2450 ({why_not});")
        print("      measuring with the transport tests' probe instrument instead (its READ? is trivial).")
        sys.path.insert(0, str(ROOT))
        from sim_backend.faults import set_bench_factory

        from tests.helpers.probe_bench import open_probe_bench

        set_bench_factory(open_probe_bench)
        serve_cmd = [sys.executable, str(ROOT / "tests" / "transport" / "serve_probe.py"), "serve", "--port", "0"]
    else:
        # `tspcm sim serve --port 0`, with only the sim command loaded
        serve_cmd = [
            sys.executable,
            "-c",
            "import sys; from tspcm_lab import cli; "
            "cli.COMMANDS = {'sim': 'tspcm_lab.commands.sim'}; sys.exit(cli.main(sys.argv[1:]))",
            "sim",
            "serve",
            "--port",
            "0",
        ]

    runs = [measure(args, probe, serve_cmd) for _ in range(args.runs)]
    results = {name: statistics.median(run[name] for run in runs) for name in runs[0]}
    handle_after_yield_us = results.pop("handle() after a yield")
    echo_us = results["echo"]
    print(
        f"\n:READ? round trip, median of {args.runs} runs (fresh servers each) of the median of {args.repeats}"
        f" x {args.queries} queries"
        f"{' (probe instrument)' if probe else ' (Keithley 2450 model)'}"
        f"{f', all on CPU {cpu}' if cpu is not None else ', unpinned'}"
    )
    for name, value in results.items():
        spread = [run[name] for run in runs]
        among = f"   runs {min(spread):.1f}-{max(spread):.1f} us" if len(runs) > 1 else ""
        print(f"  {name:17s} {value:8.1f} us   {value / echo_us:5.2f} x echo{among}")
    tcp_ratio = results["TCP"] / results["driver echo"]
    per_run = ", ".join(f"{run['TCP'] / run['driver echo']:.2f}" for run in runs)
    print(
        f"\nTCP / the same client against the echo server: {tcp_ratio:.2f} x"
        f"  (issue 12 goal <= 2 x: {'met' if tcp_ratio <= 2 else 'not met'}; the driver echo row)"
        + (f"; each run's own: {per_run}" if len(runs) > 1 else "")
    )
    print(
        f"TCP / a bare pyvisa-py query of the echo:      {results['TCP'] / results['pyvisa-py echo']:.2f} x"
        f"  (stricter: the client without the driver's own work)"
    )
    inproc_ratio = results["@tspcm"] / results["pyvisa-py in-proc"]
    print(
        f"@tspcm / pyvisa-py in-process query:           {inproc_ratio:.2f} x"
        f"  (issue 12 goal <= 4 x: {'met' if inproc_ratio <= 4 else 'not met'})"
    )
    print(
        f"TCP server floor / the same client, echo:      {results['TCP server floor'] / results['driver echo']:.2f} x"
        f"  (the same driver and server, no instrument model: the least the TCP row can cost)"
    )
    if "TCP physics floor" in results:
        print(
            f"TCP physics floor / the same client, echo:     "
            f"{results['TCP physics floor'] / results['driver echo']:.2f} x"
            f"  (the same server and the reading's physics, without the SCPI engine, the 2450 model and the bench)"
        )
    print(
        f"TCP - TCP server floor (the 2450 model's share): {results['TCP'] - results['TCP server floor']:.1f} us"
        f"; the 2450 handle() alone {results['model handle()']:.1f} us in a tight loop,"
        f" {handle_after_yield_us:.1f} us after a yield of the CPU (as the server runs it)"
    )
    print(f"raw socket TCP / echo (server and model only): {results['raw socket TCP'] / echo_us:.2f} x")
    model_us = results["model handle()"]
    print(
        f"transport + driver cost without the model: @tspcm {results['@tspcm'] - model_us:.1f} us, "
        f"TCP {results['TCP'] - model_us:.1f} us ({(results['TCP'] - model_us) / echo_us:.2f} x echo), "
        f"raw socket TCP {results['raw socket TCP'] - model_us:.1f} us"
    )
    if probe and not args.probe:
        print("(probe instrument: rerun once sim_backend.bench and the 2450 model exist)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
