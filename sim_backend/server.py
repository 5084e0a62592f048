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
instrument) while the others carry on; a client that does not read its replies blocks only its own
connection (the server stops reading its commands: no unbounded send buffer); garbage bytes reach the
instrument as text it rejects (an error-queue entry); a disconnect mid-command just ends that
connection, the unfinished message is dropped; at most ``max_clients`` connections at once.

Concurrency: one thread accepts on every port, one thread serves each connection (a blocking
recv/handle/send loop: the lowest round-trip time in CPython); commands to the bench run one at a time
under the bench lock (pass the ``@tspcm`` host's lock when both ways in share one bench), so virtual
time stays ordered across clients.

Faults (:mod:`sim_backend.faults`): :attr:`SimServer.faults` delays replies (wall time), closes the
socket at the N-th command, or ignores commands (the client's read times out).
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import signal
import socket
import threading
from typing import Any, Callable

from sim_backend.faults import DROP, IGNORE, FaultPlan, serving_order
from sim_backend.framing import MessageFramer, MessageTooLong

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_BASE_PORT = 5025
#: Longest unfinished message kept per connection (bytes): an arbitrary waveform of 1 M points in ASCII fits.
DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_CLIENTS = 32
RECV_BYTES = 65536
INPUT_OVERRUN = (-363, "Input buffer overrun")
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


class SimServer:
    """Serve every instrument of ``bench`` on its own TCP port (see the module doc).

    ``faults``: a :class:`FaultPlan` (a new empty one by default); ``lock``: the lock serializing
    commands to the bench (a new one by default). Use as a context manager, or ``start()``/``stop()``::

        with SimServer(bench, base_port=0) as server:
            server.ports  # {resource name: port}
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
        self.ports: dict[str, int] = {}
        self.listeners: dict[str, socket.socket] = {}
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._connections_lock = threading.Lock()
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._acceptor: threading.Thread | None = None

    # -- life cycle ---------------------------------------------------------------------------------

    def start(self) -> dict[str, int]:
        """Listen on every port and start accepting; returns ``{resource name: port}`` in serving order."""
        try:
            for index, resource in enumerate(serving_order(self.bench.instruments)):
                port = self.base_port + index if self.base_port else 0
                family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
                listener = socket.socket(family, socket.SOCK_STREAM)
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                self.listeners[resource] = listener
                listener.bind((self.host, port))
                listener.listen(16)
                self.ports[resource] = listener.getsockname()[1]
        except BaseException:
            self._close_listeners()
            raise
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
            connections = list(self._connections.items())
        for conn, _ in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv or send
        for _, thread in connections:
            thread.join(timeout_s)
        for sock in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                sock.close()

    def __enter__(self) -> "SimServer":
        self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def connection_count(self) -> int:
        """Client connections open right now."""
        with self._connections_lock:
            return len(self._connections)

    def resource_string(self, resource: str) -> str:
        """The VISA resource string a client uses for ``resource``."""
        host = self.host if self.host not in ("", "0.0.0.0", "::") else DEFAULT_HOST
        if ":" in host:
            host = f"[{host}]"
        return f"TCPIP::{host}::{self.ports[resource]}::SOCKET"

    def _close_listeners(self) -> None:
        for listener in self.listeners.values():
            with contextlib.suppress(OSError):
                listener.close()

    # -- accepting ----------------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._wake_r, selectors.EVENT_READ, None)
            for resource, listener in self.listeners.items():
                selector.register(listener, selectors.EVENT_READ, resource)
            while not self._stopping.is_set():
                for key, _ in selector.select():
                    if key.data is None or self._stopping.is_set():
                        return
                    try:
                        conn, _ = key.fileobj.accept()
                    except OSError:
                        continue
                    self._admit(conn, key.data)

    def _admit(self, conn: socket.socket, resource: str) -> None:
        with self._connections_lock:
            if len(self._connections) >= self.max_clients:
                log.warning("%s: refusing a client, already %d connections", resource, self.max_clients)
                conn.close()
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            thread = threading.Thread(target=self._serve_connection, args=(conn, resource), daemon=True,
                                      name=f"tspcm-sim {resource}")
            self._connections[conn] = thread
        thread.start()

    # -- one connection -----------------------------------------------------------------------------

    def _serve_connection(self, conn: socket.socket, resource: str) -> None:
        instrument = self.bench.instruments[resource]
        framer = MessageFramer(self.max_message_bytes)
        faults, lock, stopping = self.faults, self.lock, self._stopping
        try:
            while not stopping.is_set():
                data = conn.recv(RECV_BYTES)
                if not data:
                    return  # the client closed; an unfinished message is dropped
                try:
                    messages = framer.feed(data)
                except MessageTooLong as exc:
                    log.warning("%s: closing a connection: %s", resource, exc)
                    with lock:
                        instrument.push_error(*INPUT_OVERRUN)
                    return
                for message in messages:
                    verdict = faults.before_command(resource)
                    if verdict.action == DROP:
                        return
                    if verdict.action == IGNORE:
                        continue
                    try:
                        with lock:
                            reply = instrument.handle(message)
                    except Exception:  # a bug in an instrument model must not take the server down
                        log.exception("%s: instrument failed on %r", resource, message[:200])
                        continue
                    if reply is None:
                        continue
                    if verdict.delay_s and stopping.wait(verdict.delay_s):
                        return
                    if isinstance(reply, bytes):
                        conn.sendall(reply + b"\n")
                    else:
                        conn.sendall(reply.encode("latin-1", "replace") + b"\n")
        except OSError:
            pass  # reset by the client, or shut down by stop()
        finally:
            with self._connections_lock:
                self._connections.pop(conn, None)
            with contextlib.suppress(OSError):
                conn.close()


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

    def start(self) -> "ServerThread":
        self.ports = self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> "ServerThread":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()
