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
instrument) while the others carry on, and so does one that would take the unfinished messages of all
connections together past ``max_buffered_bytes``; a client that does not read its replies blocks only
its own connection (the server stops reading its commands: no unbounded send buffer); garbage bytes
reach the instrument as text it rejects (an error-queue entry); a disconnect mid-command just ends that
connection, the unfinished message is dropped. A connection silent for ``idle_timeout_s`` (no command
sent, no reply taken) is closed.
Idle clients cannot lock others out: when ``max_clients`` connections are open (or the process runs out
of file descriptors) a new client still gets in, and the connection idle the longest is closed instead.

Concurrency: one thread accepts on every port (and closes idle connections), one thread serves each
connection (a blocking recv/handle/send loop, no socket timeout: the lowest round-trip time in CPython). No
lock is held across the bench: each instrument serializes its own commands (its own lock), and the bench
locks its device model and clock only while a command acts on them, so virtual time stays ordered across
clients while an instrument that does not touch the model (``*IDN?``, a setting, its error queue) answers
at once even during another instrument's long sweep. The server also shortens the interpreter's thread
switch interval, so such an answer does not wait for a computing thread to hand over the GIL.

With ``control=True`` (``tspcm sim serve --control``) one more port serves the bench itself
(:mod:`sim_backend.control`: virtual time, the snapshot), for a client in another process that must
let virtual time pass as an in-process one does (the GUI's bench process).

Faults (:mod:`sim_backend.faults`): :attr:`SimServer.faults` delays replies (wall time), closes the
socket at the N-th command, or ignores commands (the client's read times out).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import selectors
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

try:
    import resource
except ImportError:  # not on Windows
    resource = None

from sim_backend.faults import DROP, IGNORE, PASS, FaultPlan, serving_order
from sim_backend.framing import MessageFramer, MessageTooLong

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_BASE_PORT = 5025
#: Longest unfinished message kept per connection (bytes): an arbitrary waveform of 1 M points in ASCII fits.
DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
#: Unfinished messages of all connections together (bytes): 1000 clients each sending a long line
#: without a terminator must not take the memory of the machine.
DEFAULT_MAX_BUFFERED_BYTES = 32 * 1024 * 1024
#: Connections served at once; past it, the one idle the longest is closed for a new client.
DEFAULT_MAX_CLIENTS = 1024
#: A connection that sends nothing and takes no reply for this long is closed (s); not while a command of
#: it runs. The accepting thread checks every min(1 s, a quarter of it).
DEFAULT_IDLE_TIMEOUT_S = 600.0
#: The interpreter's thread switch interval while serving (s): how long a thread answering a query may
#: wait for one that computes (the default, 5 ms, would let a long sweep delay every answer by it).
SWITCH_INTERVAL_S = 0.0005
RECV_BYTES = 65536
#: file descriptors the server asks for (up to the hard limit): one per connection
WANTED_FILES = 65536
INPUT_OVERRUN = (-363, "Input buffer overrun")
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


class _Connection:
    """What the server knows about one client connection."""

    __slots__ = ("sock", "resource_name", "thread", "last_active", "busy", "closing", "pending")

    def __init__(self, sock: socket.socket, resource_name: str):
        self.sock = sock
        self.resource_name = resource_name
        self.thread: threading.Thread | None = None
        self.last_active = time.monotonic()
        self.busy = False  # a command of it is being handled
        self.closing = False  # closed (to make room, or idle): its thread is ending
        self.pending = 0  # bytes of its unfinished message


class SimServer:
    """Serve every instrument of ``bench`` on its own TCP port (see the module doc).

    ``faults``: a :class:`FaultPlan` (a new empty one by default). Use as a context manager, or
    ``start()``/``stop()``::

        with SimServer(bench, base_port=0) as server:
            server.ports  # {resource name: port}
    """

    def __init__(
        self,
        bench: Any,
        host: str = DEFAULT_HOST,
        base_port: int = DEFAULT_BASE_PORT,
        faults: FaultPlan | None = None,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        max_clients: int = DEFAULT_MAX_CLIENTS,
        idle_timeout_s: float | None = DEFAULT_IDLE_TIMEOUT_S,
        max_buffered_bytes: int = DEFAULT_MAX_BUFFERED_BYTES,
        control: bool = False,
    ):
        if not 0 <= int(base_port) <= 65535:
            raise ValueError(f"base_port must be in [0, 65535], got {base_port!r}")
        if base_port and base_port + len(bench.instruments) + bool(control) - 1 > 65535:
            raise ValueError(f"base_port {base_port} + {len(bench.instruments) + bool(control)} ports exceeds 65535")
        if max_message_bytes < 64:
            raise ValueError(f"max_message_bytes must be >= 64, got {max_message_bytes!r}")
        if max_clients < 1:
            raise ValueError(f"max_clients must be >= 1, got {max_clients!r}")
        if idle_timeout_s is not None and not 0 < idle_timeout_s <= 86400:
            raise ValueError(f"idle_timeout_s must be in (0, 86400] s or None, got {idle_timeout_s!r}")
        if max_buffered_bytes < max_message_bytes:
            raise ValueError(
                f"max_buffered_bytes must be >= max_message_bytes ({max_message_bytes}), got {max_buffered_bytes!r}"
            )
        self.bench = bench
        self.host = host
        self.base_port = int(base_port)
        self.faults = faults if faults is not None else FaultPlan(bench.instruments)
        self.max_message_bytes = int(max_message_bytes)
        self.max_clients = int(max_clients)
        self.idle_timeout_s = idle_timeout_s
        self.max_buffered_bytes = int(max_buffered_bytes)
        #: what serves each resource: the bench's instruments, then (``control``) the bench's own control
        #: endpoint (virtual time, snapshot: :mod:`sim_backend.control`) on the port after theirs
        self.handlers: dict[str, Any] = {name: bench.instruments[name] for name in serving_order(bench.instruments)}
        if control:
            from sim_backend.control import CONTROL_RESOURCE, BenchControl

            self.handlers[CONTROL_RESOURCE] = BenchControl(bench)
        self.ports: dict[str, int] = {}
        self.listeners: dict[str, socket.socket] = {}
        self._connections: dict[socket.socket, _Connection] = {}
        self._connections_lock = threading.Lock()
        self._buffered = 0  # bytes of unfinished messages over all connections
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._acceptor: threading.Thread | None = None
        self._switch_interval: float | None = None

    # -- life cycle ---------------------------------------------------------------------------------

    def start(self) -> dict[str, int]:
        """Listen on every port and start accepting; returns ``{resource name: port}`` in serving order."""
        try:
            for index, resource_name in enumerate(self.handlers):
                port = self.base_port + index if self.base_port else 0
                family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
                listener = socket.socket(family, socket.SOCK_STREAM)
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                self.listeners[resource_name] = listener
                listener.bind((self.host, port))
                listener.listen(128)
                self.ports[resource_name] = listener.getsockname()[1]
        except BaseException:
            self._close_listeners()
            raise
        _raise_file_limit()
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch_interval, SWITCH_INTERVAL_S))
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True, name="tspcm-sim-accept")
        self._acceptor.start()
        return dict(self.ports)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop accepting, close every client connection, wait for the threads to end."""
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        if self._acceptor is not None:
            self._acceptor.join(timeout_s)
        self._close_listeners()
        with self._connections_lock:
            connections = list(self._connections.values())
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv or send
        for connection in connections:
            if connection.thread is not None:
                connection.thread.join(timeout_s)
        for sock in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                sock.close()
        if self._switch_interval is not None:
            sys.setswitchinterval(self._switch_interval)
            self._switch_interval = None

    def __enter__(self) -> SimServer:
        self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def connection_count(self) -> int:
        """Client connections open right now."""
        with self._connections_lock:
            return len(self._connections)

    def resource_string(self, resource_name: str) -> str:
        """The VISA resource string a client uses for ``resource_name``."""
        host = self.host if self.host not in ("", "0.0.0.0", "::") else DEFAULT_HOST
        if ":" in host:
            host = f"[{host}]"
        return f"TCPIP::{host}::{self.ports[resource_name]}::SOCKET"

    def _close_listeners(self) -> None:
        for listener in self.listeners.values():
            with contextlib.suppress(OSError):
                listener.close()

    # -- accepting ----------------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._wake_r, selectors.EVENT_READ, None)
            for resource_name, listener in self.listeners.items():
                selector.register(listener, selectors.EVENT_READ, resource_name)
            # the idle timeout is kept here, not as a socket timeout: with one, CPython polls the socket
            # before every recv and send, two system calls more per query
            tick_s = None if self.idle_timeout_s is None else min(1.0, self.idle_timeout_s / 4)
            next_check = time.monotonic()
            while not self._stopping.is_set():
                events = selector.select(tick_s)
                if tick_s is not None and time.monotonic() >= next_check:
                    self._close_idle()
                    next_check = time.monotonic() + tick_s
                for key, _ in events:
                    if key.data is None or self._stopping.is_set():
                        return
                    try:
                        conn, _ = key.fileobj.accept()
                    except OSError as exc:
                        if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                            # out of descriptors: make room by closing the connection idle the longest
                            if not self._evict_idlest():
                                time.sleep(0.05)
                        continue
                    self._admit(conn, key.data)

    def _admit(self, conn: socket.socket, resource_name: str) -> None:
        with self._connections_lock:
            full = sum(not c.closing for c in self._connections.values()) >= self.max_clients
        if full and not self._evict_idlest():
            log.warning("%s: refusing a client: %d connections, all busy", resource_name, self.max_clients)
            conn.close()
            return
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = _Connection(conn, resource_name)
        connection.thread = threading.Thread(
            target=self._serve_connection,
            args=(connection, resource_name),
            daemon=True,
            name=f"tspcm-sim {resource_name}",
        )
        with self._connections_lock:
            self._connections[conn] = connection
        connection.thread.start()

    def _evict_idlest(self) -> bool:
        """Close the connection idle the longest (not one busy with a command); False if none."""
        with self._connections_lock:
            idle = [c for c in self._connections.values() if not (c.busy or c.closing)]
            victim = min(idle, key=lambda c: c.last_active, default=None)
            if victim is not None:
                victim.closing = True
        if victim is None:
            return False
        log.info(
            "closing the connection idle the longest (%.0f s) to admit a new client",
            time.monotonic() - victim.last_active,
        )
        with contextlib.suppress(OSError):
            victim.sock.shutdown(socket.SHUT_RDWR)
        return True

    def _close_idle(self) -> None:
        """Close the connections silent for longer than ``idle_timeout_s`` (not one busy with a command;
        one blocked sending to a client that does not read is silent too)."""
        assert self.idle_timeout_s is not None
        oldest = time.monotonic() - self.idle_timeout_s
        with self._connections_lock:
            idle = [c for c in self._connections.values() if not (c.busy or c.closing) and c.last_active < oldest]
            for connection in idle:
                connection.closing = True
        for connection in idle:
            log.info("%s: closing a connection idle for %s s", connection.resource_name, self.idle_timeout_s)
            with contextlib.suppress(OSError):
                connection.sock.shutdown(socket.SHUT_RDWR)

    # -- one connection -----------------------------------------------------------------------------

    def _serve_connection(self, connection: _Connection, resource_name: str) -> None:
        conn = connection.sock
        instrument = self.handlers[resource_name]
        framer = MessageFramer(self.max_message_bytes)
        faults, stopping = self.faults, self._stopping
        try:
            while True:  # stop() shuts the socket down once no new client can come: recv ends it
                data = conn.recv(RECV_BYTES)
                if not data:
                    return  # the client closed; an unfinished message is dropped
                connection.last_active = time.monotonic()
                try:
                    messages = framer.feed(data)
                    if framer.pending_bytes != connection.pending:  # (whole lines in, nothing left: the commonest)
                        self._account(connection, framer.pending_bytes)
                except MessageTooLong as exc:
                    log.warning("%s: closing a connection: %s", resource_name, exc)
                    if hasattr(instrument, "push_error"):
                        instrument.push_error(*INPUT_OVERRUN)
                    return
                for message in messages:
                    verdict = faults.before_command(resource_name)
                    if verdict.action != PASS:  # (one compare in the commonest case)
                        if verdict.action == DROP:
                            return
                        if verdict.action == IGNORE:
                            continue
                    connection.busy = True  # not idle while the command runs, nor during a latency fault
                    try:
                        reply = instrument.handle(message)
                        if reply is not None and verdict.delay_s and stopping.wait(verdict.delay_s):
                            return
                    except Exception:  # a bug in an instrument model must not take the server down
                        log.exception("%s: instrument failed on %r", resource_name, message[:200])
                        continue
                    finally:
                        connection.last_active = time.monotonic()  # before busy goes: never idle in between
                        connection.busy = False
                    if reply is None:
                        continue
                    # a reply the client does not take within idle_timeout_s closes the connection
                    if isinstance(reply, bytes):
                        conn.sendall(reply + b"\n")
                    else:
                        conn.sendall((reply + "\n").encode("latin-1", "replace"))
                    connection.last_active = time.monotonic()
        except OSError:
            pass  # reset by the client, or shut down by stop(), as idle, or to admit another client
        finally:
            self._account(connection, 0)
            with self._connections_lock:
                self._connections.pop(conn, None)
            with contextlib.suppress(OSError):
                conn.close()

    def _account(self, connection: _Connection, pending: int) -> None:
        """Keep the total of unfinished messages within ``max_buffered_bytes``: MessageTooLong for the
        connection that would take it past."""
        if pending == connection.pending:  # nothing changed (whole lines in, nothing left over): no lock
            return
        with self._connections_lock:
            total = self._buffered - connection.pending + pending
            if pending > connection.pending and total > self.max_buffered_bytes:
                self._buffered -= connection.pending
                connection.pending = 0
                raise MessageTooLong(
                    f"unfinished messages of all connections would exceed max_buffered_bytes={self.max_buffered_bytes}"
                )
            self._buffered = total
            connection.pending = pending


def _raise_file_limit() -> None:
    """Ask for more file descriptors (one per connection), up to the hard limit."""
    if resource is None:
        return
    with contextlib.suppress(ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = WANTED_FILES if hard == resource.RLIM_INFINITY else min(WANTED_FILES, hard)
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def serve(
    server: SimServer,
    on_ready: Callable[[dict[str, int]], None] | None = None,
    stop_event: threading.Event | None = None,
) -> None:
    """Run ``server`` until SIGINT/SIGTERM (when called in the main thread) or ``stop_event`` is set."""
    stop = stop_event if stop_event is not None else threading.Event()
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda signum, frame: stop.set())
    try:
        ports = server.start()
        try:
            if on_ready is not None:
                on_ready(ports)
            while not stop.wait(1.0):
                pass
        finally:
            server.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class ServerThread:
    """A started :class:`SimServer` with ``ports`` and ``stop()`` (kept for code written against it).

    :class:`SimServer` serves from its own threads, so this only calls ``start()``/``stop()``::

        running = ServerThread(SimServer(bench, base_port=0)).start()
        running.ports  # {resource: port}
        running.stop()
    """

    def __init__(self, server: SimServer):
        self.server = server
        self.ports: dict[str, int] = {}

    def start(self) -> ServerThread:
        self.ports = self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()
