"""A simulated bench in its own process: ``tspcm sim serve --control`` started and stopped by its user.

Why: in-process (``@tspcm``) the device model computes in the caller's interpreter, and the Python
around its compiled kernels (the SCPI engines, the bench, formatting readings) holds the interpreter
lock while it runs. In the GUI that is the lock the Qt event loop needs: during a 1e5-point run the
window froze for 300-400 ms at a time. Served from a child process, the bench computes on its own
interpreter and the GUI's worker thread only waits on sockets, as with real LAN instruments.

    served = ServedBench.start("seed=42;fault=smu:drop=50")   # ValueError naming a bad option
    config = served.bench_config(load_bench_config("sim"))    # each role over TCP, pyvisa-py
    bench = Bench.open(config); bench.clock = served.clock()  # virtual time passes as in-process
    served.snapshot()                                         # the simulated bench's own state
    served.stop()

The child stops when :meth:`ServedBench.stop` is called, and by itself when this process ends (its
standard input, a pipe from here, closes), so no bench process outlives the GUI.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from instruments.clock import StopCheck

log = logging.getLogger(__name__)

#: the control endpoint's name in the server's port map (sim_backend.control.CONTROL_RESOURCE; not
#: imported, so this process never loads the simulated bench)
CONTROL_RESOURCE = "TSPCM::BENCH"
#: how long the child may take to say "ready" (imports, the model's kernels from numba's cache) (s)
START_TIMEOUT_S = 120.0
_PORT_LINE = re.compile(r"^\s+(\S+)\s+(TCPIP::\S+::SOCKET)\s")


class ServedBench:
    """A running ``tspcm sim serve --control`` child for one bench spec (see the module doc)."""

    def __init__(self, spec: str, process: subprocess.Popen, resources: dict[str, str]):
        self.spec = spec
        self.process = process
        #: VISA resource of the simulated bench (``GPIB0::18::INSTR``) -> its TCP resource string
        self.resources = resources
        self._control: socket.socket | None = None
        self._control_lock = threading.Lock()

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    def start(cls, spec: str, *, timeout_s: float = START_TIMEOUT_S) -> ServedBench:
        """Start the child and wait for its port map. ValueError (the child's one line) when the spec is
        refused; RuntimeError when it does not start."""
        command = [
            sys.executable,
            "-m",
            "tspcm_lab",
            "sim",
            "serve",
            "--bench",
            spec,
            "--port",
            "0",
            "--control",
            "--idle-timeout",
            "0",
            "--stop-on-eof",
        ]
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        resources: dict[str, str] = {}
        timer = threading.Timer(timeout_s, process.kill)
        timer.start()
        try:
            for line in process.stdout:
                found = _PORT_LINE.match(line)
                if found:
                    resources[found[1]] = found[2]
                if line.strip() == "ready":
                    break
        finally:
            timer.cancel()
        if CONTROL_RESOURCE not in resources:
            process.kill()
            _, err = process.communicate()
            message = err.strip().splitlines()[-1] if err.strip() else f"exit code {process.returncode}"
            if process.returncode == 2:  # the spec was refused: the user's input
                raise ValueError(message.split("error: ", 1)[-1])
            raise RuntimeError(f"the simulated bench process did not start: {message}")
        # its output is read on, so that no pipe fills: what it says on stderr (the model's warnings, e.g.
        # a cell over-heated) goes to this process's log, as it would have in-process
        threading.Thread(target=_drain, args=(process.stdout, None), daemon=True).start()
        threading.Thread(target=_drain, args=(process.stderr, log.warning), daemon=True).start()
        return cls(spec, process, resources)

    def bench_config(self, config):
        """``config`` (a bench file whose roles are the simulated bench's resources) with every role
        reached over TCP with pyvisa-py instead."""
        roles = {}
        for name, role in config.roles.items():
            tcp = self.resources.get(role.resource)
            if tcp is None:
                raise ValueError(
                    f"{config.path}: {name}.resource {role.resource!r} is not on the simulated bench "
                    f"(it has {', '.join(r for r in self.resources if r != CONTROL_RESOURCE)})"
                )
            roles[name] = replace(role, resource=tcp, visa_library="@py")
        return replace(config, roles=roles)

    # -- the control endpoint ------------------------------------------------------------------------
    def query(self, message: str, timeout_s: float | None = 600.0) -> str:
        """One exchange with the control endpoint (``:TIME?``, ``:WAIT 1;*OPC?``, ``:SNAP?``)."""
        with self._control_lock:
            if self._control is None:
                host, port = self.resources[CONTROL_RESOURCE].split("::")[1:3]
                self._control = socket.create_connection((host, int(port)), timeout=timeout_s)
                self._control.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock = self._control
            sock.settimeout(timeout_s)
            try:
                sock.sendall(message.encode("ascii") + b"\n")
                data = bytearray()
                while not data.endswith(b"\n"):
                    chunk = sock.recv(1 << 16)
                    if not chunk:
                        raise ConnectionError("the simulated bench process closed the connection")
                    data += chunk
            except BaseException:
                self._control = None
                with contextlib.suppress(OSError):
                    sock.close()
                raise
        reply = data[:-1].decode("utf-8")
        if reply.startswith("ERROR,"):
            raise RuntimeError(f"simulated bench: {reply[6:]}")
        return reply

    def snapshot(self) -> dict:
        """The simulated bench's snapshot (wiring, sources, device model and state)."""
        return json.loads(self.query(":SNAP?"))

    def clock(self) -> ServedClock:
        return ServedClock(self)

    def stop(self, timeout_s: float = 10.0) -> int:
        """End the child: its standard input closes, so it closes its connections and exits (SIGTERM,
        then SIGKILL, if it does not within ``timeout_s``). Returns its exit code."""
        with self._control_lock:
            if self._control is not None:
                with contextlib.suppress(OSError):
                    self._control.close()
                self._control = None
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        for end in (None, self.process.terminate, self.process.kill):
            if end is not None and self.process.poll() is None:
                end()
            try:
                return self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                continue
        return self.process.wait()


class ServedClock:
    """The virtual clock of a :class:`ServedBench` (an ``instruments.clock.Clock``): waiting advances its
    time, as an in-process simulated bench's does (a 1e4 s wait is instant)."""

    virtual = True

    def __init__(self, served: ServedBench):
        self.served = served

    def now_s(self) -> float:
        return float(self.served.query(":TIME?"))

    def wait(self, duration_s: float, should_stop: StopCheck = None, *, slice_s: float = 0.2) -> bool:
        if should_stop is not None and should_stop():
            return False
        self.served.query(f":WAIT {max(float(duration_s), 0.0)!r};*OPC?")
        return True


def _drain(stream: Any, say: Callable[..., None] | None) -> None:
    with contextlib.suppress(OSError, ValueError):
        for line in stream:
            if say is not None and line.strip():
                say("simulated bench: %s", line.rstrip())
