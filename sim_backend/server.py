"""SCPI over TCP: each virtual instrument of a bench on its own raw socket port, like a LAN instrument's 5025.

Clients connect the way they would to a real LAN instrument::

    rm = pyvisa.ResourceManager("@py")
    smu = rm.open_resource("TCPIP::127.0.0.1::5025::SOCKET", read_termination="\\n", write_termination="\\n")

Ports: instrument ``i`` (in the shared table's order: SMU, AWG, scope, matrix, then any others) listens
on ``base_port + i``; ``base_port=0`` gives every instrument a free ephemeral port (tests).

Protocol: bytes in are split into program messages at "\\n" ("\\r\\n" accepted; a newline inside an IEEE
488.2 binary block is data, see :mod:`sim_backend.framing`), each handed to the instrument's ``handle``;
a reply (text or a binary block) goes back with "\\n" appended, on the connection that asked, in order.
Received text is only ever parsed by the instrument's SCPI engine, never evaluated.

Robustness: the server binds to loopback unless told otherwise; an unfinished message longer than
``max_message_bytes`` closes that connection (and queues ``-363,"Input buffer overrun"`` in the
instrument) while the others carry on; a client that does not read its replies is paused (no
unbounded send buffer); garbage bytes reach the instrument as text it rejects (an error-queue entry);
a disconnect mid-command just ends that connection; at most ``max_clients`` connections at once.

Concurrency: one asyncio event loop serves every port; commands to the bench run one at a time under
the bench lock (shared with an in-process ``@tspcm`` host when one is given), so virtual time stays
ordered across clients.

Faults (:mod:`sim_backend.faults`): :attr:`SimServer.faults` delays replies (wall time), closes the
socket at the N-th command, or ignores commands (the client's read times out).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections import deque
from typing import Any, Callable

from sim_backend.faults import DROP, IGNORE, FaultPlan, serving_order
from sim_backend.framing import MessageFramer, MessageTooLong

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_BASE_PORT = 5025
#: Longest unfinished message kept per connection (bytes): an arbitrary waveform of 1 M points in ASCII fits.
DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_CLIENTS = 32
#: Replies queued for a client that does not read them, before we stop reading its commands (bytes).
SEND_BUFFER_HIGH_BYTES = 4 * 1024 * 1024
INPUT_OVERRUN = (-363, "Input buffer overrun")
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


class _Connection(asyncio.Protocol):
    """One client connected to one instrument's port."""

    def __init__(self, server: "SimServer", resource: str):
        self.server = server
        self.resource = resource
        self.instrument = server.bench.instruments[resource]
        self.framer = MessageFramer(server.max_message_bytes)
        self.transport: asyncio.Transport | None = None
        self.loop = asyncio.get_running_loop()
        self.pending: deque[tuple[float, bytes]] = deque()  # (loop time, reply) delayed by a fault
        self.backlog: deque[str] = deque()  # received messages not yet run (the client reads slowly)
        self.writing_paused = False
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if len(self.server.connections) >= self.server.max_clients:
            log.warning("%s: refusing a client, already %d connections", self.resource, self.server.max_clients)
            transport.abort()
            return
        self.server.connections.add(self)
        self.transport.set_write_buffer_limits(high=SEND_BUFFER_HIGH_BYTES)
        with contextlib.suppress(OSError, AttributeError):
            sock = transport.get_extra_info("socket")
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.pending.clear()
        self.backlog.clear()
        self.framer.clear()

    def pause_writing(self) -> None:
        # The client does not read its replies: stop running and reading its commands.
        self.writing_paused = True
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.writing_paused = False
        if not self.transport.is_closing():
            self.transport.resume_reading()
            self._run_backlog()

    def data_received(self, data: bytes) -> None:
        try:
            messages = self.framer.feed(data)
        except MessageTooLong as exc:
            log.warning("%s: closing a connection: %s", self.resource, exc)
            with self.server.lock:
                self.instrument.push_error(*INPUT_OVERRUN)
            self.transport.abort()
            return
        self.backlog.extend(messages)
        self._run_backlog()

    def _run_backlog(self) -> None:
        backlog = self.backlog
        while backlog and not self.writing_paused and not self.transport.is_closing():
            self._execute(backlog.popleft())

    def eof_received(self) -> bool:
        return False  # half-closed by the client: close our side too

    def _execute(self, message: str) -> None:
        verdict = self.server.faults.before_command(self.resource)
        if verdict.action == DROP:
            self.transport.abort()
            return
        if verdict.action == IGNORE:
            return
        try:
            with self.server.lock:
                reply = self.instrument.handle(message)
        except Exception:  # a bug in an instrument model must not take the server down
            log.exception("%s: instrument failed on %r", self.resource, message[:200])
            return
        if reply is None:
            return
        data = reply + b"\n" if isinstance(reply, bytes) else reply.encode("latin-1", "replace") + b"\n"
        if verdict.delay_s or self.pending:
            ready = self.loop.time() + verdict.delay_s
            if self.pending:
                ready = max(ready, self.pending[-1][0])  # replies leave in the order asked
            self.pending.append((ready, data))
            if self.timer is None:
                self.timer = self.loop.call_at(self.pending[0][0], self._send_due)
        else:
            self.transport.write(data)

    def _send_due(self) -> None:
        """Send the delayed replies whose time has come, in order; re-arm for the next one."""
        self.timer = None
        now = self.loop.time()
        while self.pending and self.pending[0][0] <= now:
            data = self.pending.popleft()[1]
            if not self.transport.is_closing():
                self.transport.write(data)
        if self.pending:
            self.timer = self.loop.call_at(self.pending[0][0], self._send_due)


class SimServer:
    """Serve every instrument of ``bench`` on its own TCP port (see the module doc).

    ``faults``: a :class:`FaultPlan` (a new empty one by default); ``lock``: the lock serializing
    commands to the bench (a new one by default; pass the ``@tspcm`` host's lock when both ways in
    share one bench).
    """

    def __init__(
        self,
        bench: Any,
        host: str = DEFAULT_HOST,
        base_port: int = DEFAULT_BASE_PORT,
        faults: FaultPlan | None = None,
        lock: Any = None,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        max_clients: int = DEFAULT_MAX_CLIENTS,
    ):
        if not 0 <= int(base_port) <= 65535:
            raise ValueError(f"base_port must be in [0, 65535], got {base_port!r}")
        if base_port and base_port + len(bench.instruments) - 1 > 65535:
            raise ValueError(f"base_port {base_port} + {len(bench.instruments)} instruments exceeds port 65535")
        if max_message_bytes < 64:
            raise ValueError(f"max_message_bytes must be >= 64, got {max_message_bytes!r}")
        if max_clients < 1:
            raise ValueError(f"max_clients must be >= 1, got {max_clients!r}")
        self.bench = bench
        self.host = host
        self.base_port = int(base_port)
        self.faults = faults if faults is not None else FaultPlan(bench.instruments)
        self.lock = lock if lock is not None else threading.RLock()
        self.max_message_bytes = int(max_message_bytes)
        self.max_clients = int(max_clients)
        self.connections: set[_Connection] = set()
        self.ports: dict[str, int] = {}
        self._servers: list[asyncio.base_events.Server] = []

    async def start(self) -> dict[str, int]:
        """Open every port; returns ``{resource name: port}`` in serving order."""
        loop = asyncio.get_running_loop()
        try:
            for index, resource in enumerate(serving_order(self.bench.instruments)):
                port = self.base_port + index if self.base_port else 0
                server = await loop.create_server(
                    lambda resource=resource: _Connection(self, resource), self.host, port,
                    reuse_address=True,
                )
                self._servers.append(server)
                self.ports[resource] = server.sockets[0].getsockname()[1]
        except BaseException:
            await self.stop()
            raise
        return dict(self.ports)

    async def stop(self) -> None:
        """Close every port and every client connection."""
        for server in self._servers:
            server.close()
        for connection in list(self.connections):
            if connection.transport is not None:
                connection.transport.abort()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1.0)
        self._servers.clear()
        self.connections.clear()

    def resource_string(self, resource: str) -> str:
        """The VISA resource string a client uses for ``resource``."""
        host = self.host if self.host not in ("", "0.0.0.0", "::") else DEFAULT_HOST
        return f"TCPIP::{host}::{self.ports[resource]}::SOCKET"


def serve(
    server: SimServer,
    on_ready: Callable[[dict[str, int]], None] | None = None,
    stop_event: threading.Event | None = None,
) -> None:
    """Run ``server`` in this thread until SIGINT/SIGTERM (main thread) or ``stop_event`` is set."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        installed = []
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(sig, stopping.set)
                    installed.append(sig)
        if stop_event is not None:
            threading.Thread(
                target=lambda: (stop_event.wait(), loop.call_soon_threadsafe(stopping.set)),
                daemon=True, name="tspcm-sim-stop",
            ).start()
        try:
            ports = await server.start()
            if on_ready is not None:
                on_ready(ports)
            await stopping.wait()
        finally:
            await server.stop()
            for sig in installed:
                loop.remove_signal_handler(sig)

    asyncio.run(main())


class ServerThread:
    """A :class:`SimServer` running in a background thread (tests, embedding); a context manager.

    >>> with ServerThread(SimServer(bench, base_port=0)) as running:
    ...     running.ports  # {resource: port}
    """

    def __init__(self, server: SimServer):
        self.server = server
        self.ports: dict[str, int] = {}
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="tspcm-sim-server")

    def _run(self) -> None:
        def ready(ports: dict[str, int]) -> None:
            self.ports = ports
            self._ready.set()

        try:
            serve(self.server, on_ready=ready, stop_event=self._stop)
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()

    def start(self) -> "ServerThread":
        self._thread.start()
        self._ready.wait(10.0)
        if self._error is not None:
            raise self._error
        if not self._ready.is_set():
            raise RuntimeError("the simulated-bench server did not start within 10 s")
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10.0)

    def __enter__(self) -> "ServerThread":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()
