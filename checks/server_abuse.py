"""Abuse `tspcm sim serve` the ways a buggy script would, and measure that everyone else is still served.

    python checks/server_abuse.py [--idle 1000] [--sweep-points 100000] [--queries 300]

Against a real ``tspcm sim serve`` process (raw SCPI sockets on 127.0.0.1):

1. ``--idle`` connections that never say anything, spread over the four instruments; then a new client
   connects to the scope and asks ``*IDN?``;
2. with those still open, ``--sweep-points`` linear sweeps on the SMU (``:INIT``, which runs the
   whole sweep in the device model; failAbort on, the 2450's default), one after the other until
   ``--queries`` ``*IDN?`` to the scope were asked while one ran: the latency of each (median, 99th
   percentile, max), and the same with no sweep running for comparison (the machine's own share);
3. a server with ``--max-clients 100`` and ``--idle`` idle connections: a new client still gets in;
4. 200 connections each sending 1 MiB without a newline (the server must bound what it holds), then
   10 MB of random bytes with newlines on one connection (each line an error in the queue), then
   ``*IDN?`` on a fresh connection;
5. a server with ``--idle-timeout 1``: how long an idle connection stays open.

The server's memory is read after each step: resident (VmRSS), split into the pages of files it maps
(RssFile: shared libraries, above all numba's compiler libllvmlite.so, ~100 MB, clean pages shared
with every process that maps them and dropped by the kernel under memory pressure) and what it holds
itself (RssAnon: its heap, buffers, stacks), and Pss. Prints the figures; exit code 1 if a new client
was kept out, a query went unanswered, or the server held more than 200 MB of its own (RssAnon) after
an abuse: the issue's bound, applied to the memory the server owns, not to library pages on disk.
tests/transport/test_server_abuse.py checks the behaviour of
steps 1 and 2 on every test run (a new client gets in; the scope answers correctly before the sweep
ends); the latencies are figures of this script only.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time
import weakref
from pathlib import Path

TSPCM = Path(sys.executable).with_name("tspcm")
SMU, AWG, SCOPE, MATRIX = "GPIB0::18::INSTR", "GPIB0::10::INSTR", "GPIB0::7::INSTR", "GPIB0::16::INSTR"
#: the issue's bound on the server's memory under abuse (MB): what it holds itself (RssAnon), see the docstring
MEMORY_LIMIT_MB = 200.0


class Server:
    """A `tspcm sim serve` process on free ports."""

    def __init__(self, *options: str):
        self.proc = subprocess.Popen(
            [str(TSPCM), "sim", "serve", "--port", "0", *options],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.ports: dict[str, int] = {}
        for line in self.proc.stdout:
            found = re.search(r"(GPIB0::\d+::INSTR)\s+TCPIP::127\.0\.0\.1::(\d+)::SOCKET", line)
            if found:
                self.ports[found[1]] = int(found[2])
            if line.strip() == "ready":
                break
        if not self.ports:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("tspcm sim serve did not start")
        self.at_rest_mb = self.rss_mb()
        self.clients: list[socket.socket] = []  # closed by stop(), whatever happened

    def connect(self, resource: str, timeout_s: float = 10.0) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.ports[resource]), timeout=timeout_s)
        self.clients.append(sock)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def memory_added_mb(self) -> float:
        """Resident memory now minus at rest (just after it said "ready") (MB)."""
        return self.rss_mb() - self.at_rest_mb

    def rss_mb(self) -> float:
        """Resident memory of the server process (MB), from /proc."""
        return self.memory_mb()["VmRSS"]

    def memory_mb(self) -> dict[str, float]:
        """The server's memory (MB): ``VmRSS`` (resident), split into ``RssFile`` (pages of files it
        maps: shared libraries, clean, shared with every process that maps them and dropped by the kernel
        under pressure) and ``RssAnon`` (its own heap and stacks: what it really holds); ``Pss``
        (shared pages divided among the processes that share them), from /proc."""
        out = {"VmRSS": float("nan"), "RssAnon": float("nan"), "RssFile": float("nan"), "Pss": float("nan")}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                key = line.split(":", 1)[0]
                if key in out:
                    out[key] = int(line.split()[1]) / 1024
        with contextlib.suppress(OSError):
            with open(f"/proc/{self.proc.pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        out["Pss"] = int(line.split()[1]) / 1024
        return out

    def library_mb(self, name: str) -> float:
        """Resident pages of the mapped files whose path contains ``name`` (MB), from /proc smaps."""
        total, current = 0, ""
        with open(f"/proc/{self.proc.pid}/smaps") as f:
            for line in f:
                fields = line.split()
                if "-" in fields[0] and len(fields) >= 5 and ":" in fields[3]:
                    current = fields[5] if len(fields) > 5 else ""
                elif fields[0] == "Rss:" and name in current:
                    total += int(fields[1])
        return total / 1024

    def stop(self) -> None:
        """Close every client socket opened through :meth:`connect` (a thousand left open would push
        the caller's later descriptors past select()'s limit of 1024), then end the server."""
        for sock in self.clients:
            sock.close()
        self.clients.clear()
        self.proc.kill()
        self.proc.wait()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def query(sock: socket.socket, command: bytes) -> bytes:
    """Send one query, read one reply line."""
    sock.sendall(command + b"\n")
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed by the server after {data!r}")
        data += chunk
    return data


def raise_file_limit(needed: int) -> None:
    """This process opens one socket per idle connection: ask for the descriptors (up to the hard limit)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        raise RuntimeError(f"this process may open {soft} files, {needed} are needed (ulimit -n)")


def open_idle(server: Server, count: int) -> list[socket.socket]:
    order = [SMU, AWG, SCOPE, MATRIX]
    return [server.connect(order[k % len(order)]) for k in range(count)]


def latencies_ms(sock: socket.socket, n: int, pause_s: float = 0.01, busy=None) -> list[float]:
    """``*IDN?`` round trips (ms); with ``busy`` (a callable), only those measured while it is true."""
    out = []
    for _ in range(n):
        if busy is not None and not busy():
            break
        start = time.perf_counter()
        query(sock, b"*IDN?")
        out.append((time.perf_counter() - start) * 1e3)
        time.sleep(pause_s)
    return out


def start_sweep(server: Server, points: int) -> socket.socket:
    """An SMU connection running a ``points``-point linear sweep; ``*OPC?`` answers when it is done."""
    smu = server.connect(SMU, timeout_s=3600)
    smu.sendall(
        b":SOUR:FUNC VOLT\n:SOUR:VOLT:ILIM 1e-3\n:SENS:CURR:NPLC 0.01\n"
        + f":SOUR:SWE:VOLT:LIN 0,1,{points},0\n:INIT\n*OPC?\n".encode()
    )
    smu.setblocking(False)
    return smu


#: SMU connections whose sweep answered its *OPC? (the answer is read once)
_SWEEPS_DONE: weakref.WeakSet[socket.socket] = weakref.WeakSet()


def sweep_running(smu: socket.socket) -> bool:
    """True while the sweep's ``*OPC?`` is unanswered (reads the answer once it came: then False, for good)."""
    if smu in _SWEEPS_DONE:
        return False
    try:
        smu.recv(16)
    except BlockingIOError:
        return True
    _SWEEPS_DONE.add(smu)
    return False


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return f"median {statistics.median(values):.2f} ms, p99 {p99:.2f} ms, max {max(values):.2f} ms (n={len(values)})"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--sweep-points", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args(argv)
    raise_file_limit(args.idle + 300)
    problems = []
    memory = []
    with Server() as server:
        memory.append(("at rest", server.memory_mb()))
        llvm_mb = server.library_mb("libllvmlite")
        idle = open_idle(server, args.idle)
        time.sleep(1.0)
        memory.append((f"{args.idle} idle connections", server.memory_mb()))
        scope = server.connect(SCOPE)
        reply = query(scope, b"*IDN?")
        print(f"1. {args.idle} idle connections open: a new client's *IDN? -> {reply.strip().decode()}")
        quiet = latencies_ms(scope, args.queries)
        busy, sweeps, sweep_s = [], 0, []
        while len(busy) < args.queries and sweeps < 1000:  # as many sweeps as it takes to ask them all
            smu = start_sweep(server, args.sweep_points)
            started = time.perf_counter()
            time.sleep(0.02)
            busy += latencies_ms(scope, args.queries - len(busy), busy=lambda: sweep_running(smu))
            while sweep_running(smu):
                time.sleep(0.01)
            sweep_s.append(time.perf_counter() - started)
            sweeps += 1
        memory.append((f"{args.idle} idle + {sweeps} {args.sweep_points}-point sweeps", server.memory_mb()))
        print(f"2. scope *IDN? with no sweep:        {summary(quiet)}")
        print(
            f"   scope *IDN? during the SMU sweep: {summary(busy)} ({sweeps} sweeps of "
            f"{args.sweep_points} points, {statistics.median(sweep_s):.2f} s each)"
        )
        print(f"   the machine meanwhile: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        if len(busy) < 10:
            problems.append(f"only {len(busy)} queries measured while the sweeps ran")
        for sock in idle:
            sock.close()
    with Server("--max-clients", "100") as server:
        idle = open_idle(server, args.idle)
        time.sleep(1.0)
        try:
            with server.connect(SCOPE) as sock:
                reply = query(sock, b"*IDN?").strip().decode()
        except OSError as exc:
            reply = f"no answer ({exc})"
            problems.append("a new client was kept out at --max-clients 100")
        alive = 0
        for sock in idle:
            sock.setblocking(False)
            try:
                alive += sock.recv(1) != b""
            except BlockingIOError:
                alive += 1
            except OSError:
                pass
            sock.close()
        print(
            f"3. --max-clients 100 and {args.idle} idle connections: a new client's *IDN? -> {reply}; "
            f"{alive} of the idle connections still open"
        )
    with Server() as server:
        floods = [server.connect(SMU) for _ in range(200)]
        block = b"X" * (1 << 20)
        closed = 0
        for sock in floods:
            try:
                sock.sendall(block)
            except OSError:
                closed += 1
        time.sleep(1.0)
        memory.append(("200 connections x 1 MiB without a newline", server.memory_mb()))
        for sock in floods:
            sock.setblocking(False)
            try:
                closed += sock.recv(1) == b""
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
            sock.close()
        rng = random.Random(1)
        garbage = bytes(rng.randrange(256) for _ in range(1 << 20))
        with server.connect(SMU) as sock:
            for _ in range(10):
                sock.sendall(garbage)
            sock.sendall(b"\n*OPC?\n")
            deadline = time.monotonic() + 60
            data = b""
            while not data.endswith(b"1\n") and time.monotonic() < deadline:
                data += sock.recv(65536)
        memory.append(("then 10 MB of random bytes", server.memory_mb()))
        with server.connect(SCOPE) as sock:
            reply = query(sock, b"*IDN?").strip().decode()
        print(
            f"4. 200 x 1 MiB unterminated: {closed} of those connections closed by the server; after 10 MB "
            f"of random bytes *OPC? -> {'answered' if data.endswith(b'1' + bytes([10])) else 'NO ANSWER'}; "
            f"a new client's *IDN? -> {reply}"
        )
        if not data.endswith(b"1\n"):
            problems.append("*OPC? not answered after the random bytes")
    with Server("--idle-timeout", "1") as server:
        sock = server.connect(SMU)
        start = time.monotonic()
        closed_after = None
        sock.settimeout(10)
        try:
            if sock.recv(1) == b"":
                closed_after = time.monotonic() - start
        except OSError:
            pass
        sock.close()
        print(
            f"5. --idle-timeout 1: an idle connection was closed after {closed_after:.2f} s"
            if closed_after is not None
            else "5. idle connection NOT closed"
        )
        if closed_after is None:
            problems.append("the idle connection was not closed")
    print(
        "\nserver memory (MB): VmRSS = RssFile (mapped files: shared libraries) + RssAnon (its own);"
        " Pss shares the shared pages out"
    )
    print(f"  {'':45s} {'VmRSS':>7s} {'RssFile':>8s} {'RssAnon':>8s} {'Pss':>7s}  {'RssAnon added':>13s}")
    rest = memory[0][1]["RssAnon"]
    for what, mb in memory:
        print(
            f"  {what:45s} {mb['VmRSS']:7.1f} {mb['RssFile']:8.1f} {mb['RssAnon']:8.1f} {mb['Pss']:7.1f}  "
            f"{mb['RssAnon'] - rest:+13.1f}"
        )
        if mb["RssAnon"] > MEMORY_LIMIT_MB:
            problems.append(f"{what}: the server holds {mb['RssAnon']:.0f} MB > {MEMORY_LIMIT_MB:.0f} MB")
    print(
        f"  of the resident file pages at rest, libllvmlite.so (numba's compiler, which links the cached "
        f"kernels when they load): {llvm_mb:.1f} MB"
    )
    print("\n" + ("FAIL: " + "; ".join(problems) if problems else "ok"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
