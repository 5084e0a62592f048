"""PyVISA backend for the simulated bench: ``visa_library="@tspcm"`` or ``PYVISA_LIBRARY=@tspcm``.

PyVISA turns ``ResourceManager("<spec>@tspcm")`` into ``pyvisa_tspcm.WRAPPER_CLASS("<spec>")``, i.e.
:class:`TspcmVisaLibrary`. The text before ``@`` is the **bench spec** handed to the bench factory
(``""`` or ``"default"``: the default single cell, seed 0; ``"seed=42"``; ``"path/to/bench.toml"``;
options joined by ``;``, plus our ``fault=<resource-or-role>:<kind>[=<value>]`` options, see
:mod:`sim_backend.faults`). Unmodified drivers then work::

    from pymeasure.instruments.keithley import Keithley2450
    smu = Keithley2450("GPIB0::18::INSTR", visa_library="seed=42@tspcm")

Isolation and reset. Each distinct spec string gets its own bench, kept for the life of the process
(PyVISA itself caches one backend object per library path, so opening ``"@tspcm"`` twice shares one
bench, as two drivers on one GPIB bus share the instruments). To start clean, either use a fresh spec
(``f"run{n};seed=42@tspcm"`` - unknown-to-us options go to the bench factory, so prefer a distinct
``seed``) or reset explicitly::

    import pyvisa_tspcm
    pyvisa_tspcm.reset_bench("seed=42")   # bench.reset(), faults cleared, unread replies dropped
    rm.visalib.reset()                    # the same, from a ResourceManager
    pyvisa_tspcm.discard_bench("seed=42") # forget it: the next open builds a brand-new bench
    pyvisa_tspcm.close_bench("seed=42")   # close its ResourceManagers (and their resources), then discard

Timing. Everything runs in the caller's thread; an instrument answers a query at once, so a read with
no reply pending and no fault that could make one arrive raises ``VI_ERROR_TMO`` immediately instead
of idling for the resource's timeout. With a :class:`~sim_backend.faults.Latency` or
:class:`~sim_backend.faults.StopAnswering` fault the read waits in wall time, up to the resource's
``timeout``, exactly as with a real instrument. A dropped link raises ``VI_ERROR_CONN_LOST``.

Messages. A write is split into program messages at "\\n" ("\\r\\n" accepted, so PyVISA's default
write termination works) and at its end (END/EOI, when ``send_end`` is on, the default); a newline
inside an IEEE 488.2 binary block is data. Replies are queued per instrument (as an instrument's
output queue on a GPIB bus) with "\\n" appended; as on GPIB, a new message discards an unread reply
(-410 queued) and a read with nothing to read queues -420 (when the instrument offers the
``note_query_interrupted``/``note_query_unterminated`` hooks, as the SCPI engine does); reads honour ``count``, the termination character
(``read_termination``) and END, so ``read``, ``read_raw``, ``read_bytes`` and ``query_binary_values``
behave as on a real GPIB instrument.
"""

from __future__ import annotations

import random
import threading
import time
import weakref
from collections import deque
from typing import Any

from pyvisa import attributes, constants, highlevel, rname
from pyvisa.constants import StatusCode
from pyvisa.util import LibraryPath

from sim_backend.clock import VirtualClock
from sim_backend.faults import DROP, FaultPlan, normal_resource_name, open_bench_with_faults, serving_order
from sim_backend.framing import MessageFramer

_ATTR = constants.ResourceAttribute
_MAV = 0x10  # IEEE 488.2 status byte: message available

#: The library path PyVISA uses for ``"@tspcm"`` with nothing before the ``@``.
DEFAULT_SPEC_NAME = "default"


def normalize_spec(spec: str) -> str:
    """The registry key of a bench spec: surrounding blanks dropped, ``"default"`` is ``""``."""
    spec = str(spec).strip()
    return "" if spec in (DEFAULT_SPEC_NAME, "unset") else spec


# -- one bench per spec -----------------------------------------------------------------------------


class _Reply:
    """One reply in an output queue: bytes (termination included), readable from ``ready_at``."""

    __slots__ = ("data", "offset", "ready_at")

    def __init__(self, data: bytes, ready_at: float):
        self.data = data
        self.offset = 0
        self.ready_at = ready_at


class _Port:
    """One instrument's way out: its output queue, and the condition a read waits on (the instrument's
    own lock, so a read or write to one instrument never waits for another)."""

    def __init__(self, lock: Any):
        self.ready = threading.Condition(lock)
        self.queue: deque[_Reply] = deque()


class BenchHost:
    """A bench, its fault plan and each instrument's output queue.

    Commands to an instrument go through :meth:`execute` under that instrument's lock (an instrument of
    ``sim_backend.scpi`` has one; others get one here); the bench itself locks its device model and
    clock (``lock``), so virtual time stays ordered when several threads drive the bench, and an
    instrument that does not touch the model (``*IDN?``, settings, its error queue) answers at once even
    while another one runs a long sweep.
    """

    def __init__(self, spec: str):
        self.spec = spec
        self.bench, self.faults = open_bench_with_faults(spec)
        #: the lock of the device model and the virtual clock (for callers that advance time directly)
        self.lock = getattr(self.bench, "model_lock", None) or threading.RLock()
        self.instruments: dict[str, Any] = self.bench.instruments
        self._normal_names = {normal_resource_name(name): name for name in self.instruments}
        self.ports = {
            name: _Port(getattr(inst, "lock", None) or threading.RLock()) for name, inst in self.instruments.items()
        }

    def resource_names(self) -> list[str]:
        return serving_order(self.instruments)

    def lookup(self, resource_name: str) -> str | None:
        """The bench's key for ``resource_name`` (any VISA spelling), or ``None``."""
        if resource_name in self.instruments:
            return resource_name
        return self._normal_names.get(normal_resource_name(resource_name))

    def serve(self, **kwargs: Any):
        """A :class:`~sim_backend.server.SimServer` (not started) on this same bench, sharing its fault
        plan, so in-process ``@tspcm`` users and TCP clients drive one bench."""
        from sim_backend.server import SimServer

        return SimServer(self.bench, faults=self.faults, **kwargs)

    def reset(self) -> None:
        """``bench.reset()``, faults cleared, queued replies dropped."""
        self.bench.reset()
        self.faults.clear()
        for port in self.ports.values():
            with port.ready:
                port.queue.clear()
                port.ready.notify_all()

    def execute(self, resource: str, message: str) -> str:
        """Hand one program message to ``resource``; returns the fault verdict's action.

        As on a GPIB instrument (IEEE 488.2 message exchange), a message arriving while an earlier
        reply is still unread discards that reply and queues -410 "Query INTERRUPTED" (through the
        instrument's optional ``note_query_interrupted()``).
        """
        verdict = self.faults.before_command(resource)
        if verdict.action != "pass":
            return verdict.action
        port = self.ports[resource]
        with port.ready:
            instrument = self.instruments[resource]
            queue = port.queue
            if queue:
                queue.clear()
                note = getattr(instrument, "note_query_interrupted", None)
                if note is not None:
                    note()
            reply = instrument.handle(message)
            if reply is not None:
                data = reply + b"\n" if isinstance(reply, bytes) else reply.encode("latin-1", "replace") + b"\n"
                ready_at = 0.0
                if verdict.delay_s:
                    ready_at = time.monotonic() + verdict.delay_s
                    if queue:
                        ready_at = max(ready_at, queue[-1].ready_at)
                elif queue and queue[-1].ready_at:
                    ready_at = queue[-1].ready_at  # keep replies in order behind a delayed one
                queue.append(_Reply(data, ready_at))
                if ready_at:
                    port.ready.notify_all()
        return "pass"


_HOSTS: dict[str, BenchHost] = {}
_HOSTS_LOCK = threading.Lock()
#: every @tspcm library object PyVISA made (PyVISA keeps one per library path), for close_bench
_LIBRARIES: weakref.WeakSet[TspcmVisaLibrary] = weakref.WeakSet()


def get_host(spec: str = "") -> BenchHost:
    """The :class:`BenchHost` of ``spec``, built on first use."""
    key = normalize_spec(spec)
    with _HOSTS_LOCK:
        host = _HOSTS.get(key)
        if host is None:
            host = _HOSTS[key] = BenchHost(key)
        return host


def get_bench(spec: str = "") -> Any:
    """The bench behind ``ResourceManager("<spec>@tspcm")`` (built on first use)."""
    return get_host(spec).bench


def get_faults(spec: str = "") -> FaultPlan:
    """The fault plan of the bench behind ``"<spec>@tspcm"``."""
    return get_host(spec).faults


def reset_bench(spec: str = "") -> None:
    """Reset the bench of ``spec``: ``bench.reset()``, faults cleared, unread replies dropped."""
    get_host(spec).reset()


def discard_bench(spec: str | None = None) -> None:
    """Forget the bench of ``spec`` (``None``: all); the next open of that spec builds a new one."""
    with _HOSTS_LOCK:
        if spec is None:
            _HOSTS.clear()
        else:
            _HOSTS.pop(normalize_spec(spec), None)


def close_bench(spec: str = "") -> None:
    """Be done with the bench of ``spec``: close every PyVISA ``ResourceManager`` opened on
    ``"<spec>@tspcm"`` (which closes the resources it opened), then :func:`discard_bench` it. What a test
    fixture or a script calls at the end so that nothing of that bench is left for the next user."""
    key = normalize_spec(spec)
    for library in list(_LIBRARIES):
        if library.spec == key and library.resource_manager is not None:
            library.resource_manager.close()
    discard_bench(key)


# -- sessions ---------------------------------------------------------------------------------------


class _Session:
    """One open resource: its VISA attributes and a framer for writes without END."""

    def __init__(self, rm_session: int, resource: str, parsed: rname.ResourceName):
        self.resource = resource
        self.session_type = (parsed.interface_type_const, parsed.resource_class)
        self.framer = MessageFramer(max_message_bytes=None)
        self.alive = True
        self.attrs: dict[int, Any] = {
            _ATTR.resource_manager_session: rm_session,
            _ATTR.resource_name: resource,
            _ATTR.resource_class: parsed.resource_class,
            _ATTR.interface_type: parsed.interface_type_const,
            _ATTR.interface_number: int(getattr(parsed, "board", 0) or 0),
            _ATTR.timeout_value: 2000,
            _ATTR.termchar: 0x0A,
            _ATTR.termchar_enabled: False,
            _ATTR.send_end_enabled: True,
            _ATTR.suppress_end_enabled: False,
            _ATTR.resource_manufacturer_name: "tspcm-lab simulated bench",
        }
        for attr, field in (
            (_ATTR.gpib_primary_address, "primary_address"),
            (_ATTR.gpib_secondary_address, "secondary_address"),
        ):
            value = getattr(parsed, field, None)
            if value not in (None, ""):
                self.attrs[attr] = int(value)

    def timeout_s(self) -> float | None:
        value = self.attrs[_ATTR.timeout_value]
        if value is None or value >= constants.VI_TMO_INFINITE:
            return None
        return max(0.0, float(value) / 1000.0)


class TspcmVisaLibrary(highlevel.VisaLibraryBase):
    """The ``@tspcm`` VISA library: resources are the virtual instruments of one simulated bench."""

    sessions: dict[int, Any]

    @staticmethod
    def get_library_paths() -> tuple[LibraryPath, ...]:
        return (LibraryPath(DEFAULT_SPEC_NAME),)

    @staticmethod
    def get_debug_info() -> dict[str, str]:
        return {"Backend": "tspcm-lab simulated bench (sim_backend.visa)"}

    def _init(self) -> None:
        self.sessions = {}
        self.spec = normalize_spec(str(self.library_path))
        _LIBRARIES.add(self)
        get_host(self.spec)  # build the bench now, so a bad spec fails at ResourceManager(...)

    @property
    def host(self) -> BenchHost:
        """The bench host of this library path (looked up each time: see :func:`discard_bench`)."""
        host = _HOSTS.get(self.spec)
        return host if host is not None else get_host(self.spec)

    # -- convenience for users and tests ----------------------------------------------------------

    @property
    def bench(self) -> Any:
        """The simulated bench behind this library path."""
        return self.host.bench

    @property
    def clock(self) -> VirtualClock:
        """The bench's virtual clock (``instruments.clock.visa_clock`` finds it): procedures wait in
        virtual time."""
        return VirtualClock(self.host)

    @property
    def faults(self) -> FaultPlan:
        """Fault injection for this bench (see :mod:`sim_backend.faults`)."""
        return self.host.faults

    def reset(self) -> None:
        """Reset this bench: ``bench.reset()``, faults cleared, unread replies dropped."""
        self.host.reset()

    # -- sessions ---------------------------------------------------------------------------------

    def _register(self, obj: Any) -> int:
        while True:
            session = random.randint(1000000, 9999999)
            if session not in self.sessions:
                self.sessions[session] = obj
                return session

    def open_default_resource_manager(self):
        return self._register(self), self.handle_return_value(None, StatusCode.success)

    def list_resources(self, session, query: str = "?*::INSTR") -> tuple[str, ...]:
        return tuple(rname.filter(self.host.resource_names(), query))

    def open(
        self, session, resource_name, access_mode=constants.AccessModes.no_lock, open_timeout=constants.VI_TMO_IMMEDIATE
    ):
        try:
            parsed = rname.parse_resource_name(resource_name)
        except rname.InvalidResourceName:
            return 0, self.handle_return_value(None, StatusCode.error_invalid_resource_name)
        resource = self.host.lookup(resource_name)
        if resource is None:
            return 0, self.handle_return_value(None, StatusCode.error_resource_not_found)
        sess = _Session(session, resource, parsed)
        return self._register(sess), self.handle_return_value(None, StatusCode.success)

    def close(self, session) -> StatusCode:
        sess = self.sessions.pop(session, None)
        if sess is None:
            return self.handle_return_value(session, StatusCode.error_invalid_object)
        if sess is self:
            self.sessions[session] = self  # the resource manager session stays valid (PyVISA reuses it)
        return self.handle_return_value(session, StatusCode.success)

    def _session(self, session) -> _Session:
        sess = self.sessions.get(session)
        if not isinstance(sess, _Session):
            self.handle_return_value(session, StatusCode.error_invalid_object)
        if not sess.alive or self.host.faults.is_dropped(sess.resource):
            sess.alive = False
            self.handle_return_value(session, StatusCode.error_connection_lost)
        return sess

    # -- message exchange -------------------------------------------------------------------------

    def write(self, session, data: bytes):
        sess = self._session(session)
        messages = sess.framer.feed(bytes(data))
        if sess.attrs[_ATTR.send_end_enabled]:
            messages += sess.framer.end()
        for message in messages:
            self._execute(session, sess, message)
        return len(data), self.handle_return_value(session, StatusCode.success)

    def buffer_write(self, session, data: bytes):
        return self.write(session, data)

    def _execute(self, session, sess: _Session, message: str) -> None:
        if self.host.execute(sess.resource, message) == DROP:
            sess.alive = False
            sess.framer.clear()
            self.handle_return_value(session, StatusCode.error_connection_lost)

    def read(self, session, count: int):
        sess = self._session(session)
        host = self.host
        port = host.ports[sess.resource]
        queue = port.queue
        timeout_s = sess.timeout_s()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with port.ready:
            while True:
                now = time.monotonic()
                if queue and queue[0].ready_at <= now:
                    return self._take(session, sess, queue, count)
                silent = host.faults.is_silent(sess.resource)
                if not queue and not silent:
                    # Nothing to say and nothing coming: time out at once; the instrument queues
                    # -420 "Query UNTERMINATED" (optional ``note_query_unterminated()``), as on GPIB.
                    note = getattr(host.instruments[sess.resource], "note_query_unterminated", None)
                    if note is not None:
                        note()
                    return b"", self.handle_return_value(session, StatusCode.error_timeout)
                if deadline is not None and now >= deadline:
                    return b"", self.handle_return_value(session, StatusCode.error_timeout)
                wait_s = None if deadline is None else deadline - now
                if queue:
                    until_ready = queue[0].ready_at - now
                    wait_s = until_ready if wait_s is None else min(wait_s, until_ready)
                port.ready.wait(wait_s)
                if not sess.alive or host.faults.is_dropped(sess.resource):
                    sess.alive = False
                    return b"", self.handle_return_value(session, StatusCode.error_connection_lost)

    def buffer_read(self, session, count: int):
        return self.read(session, count)

    def _take(self, session, sess: _Session, queue: deque, count: int):
        reply = queue[0]
        data = reply.data
        start = reply.offset
        stop = min(len(data), start + max(0, int(count)))
        status = StatusCode.success_max_count_read
        if sess.attrs[_ATTR.termchar_enabled]:
            term_at = data.find(bytes((sess.attrs[_ATTR.termchar],)), start, stop)
            if term_at >= 0:
                stop = term_at + 1
                status = StatusCode.success_termination_character_read
        if stop >= len(data):
            queue.popleft()
            status = StatusCode.success  # END with the last byte
        else:
            reply.offset = stop
        return data[start:stop], self.handle_return_value(session, status)

    def clear(self, session) -> StatusCode:
        """Device clear: the instrument's unread replies and the session's unfinished message go."""
        sess = self._session(session)
        port = self.host.ports[sess.resource]
        with port.ready:
            port.queue.clear()
        sess.framer.clear()
        return self.handle_return_value(session, StatusCode.success)

    def flush(self, session, mask) -> StatusCode:
        """Discard the rest of a partly read reply (read buffer); writes are never buffered here."""
        sess = self._session(session)
        discard = constants.BufferOperation.discard_read_buffer | constants.BufferOperation.discard_receive_buffer
        if int(mask) & int(discard):
            port = self.host.ports[sess.resource]
            with port.ready:
                if port.queue and port.queue[0].offset:
                    port.queue.popleft()
        return self.handle_return_value(session, StatusCode.success)

    def assert_trigger(self, session, protocol) -> StatusCode:
        """A GPIB group execute trigger reaches the instrument as ``*TRG`` (IEEE 488.2 equivalent)."""
        sess = self._session(session)
        self._execute(session, sess, "*TRG")
        return self.handle_return_value(session, StatusCode.success)

    def read_stb(self, session):
        """Serial poll: the instrument's ``status_byte()`` if it has one, with MAV from the output queue."""
        sess = self._session(session)
        port = self.host.ports[sess.resource]
        with port.ready:
            instrument = self.host.instruments[sess.resource]
            poll = getattr(instrument, "status_byte", None)
            stb = int(poll()) if callable(poll) else 0
            if port.queue:
                stb |= _MAV
        return stb, self.handle_return_value(session, StatusCode.success)

    # -- attributes -------------------------------------------------------------------------------

    def get_attribute(self, session, attribute):
        sess = self.sessions.get(session)
        if not isinstance(sess, _Session):
            return None, self.handle_return_value(session, StatusCode.error_invalid_object)
        if attribute in sess.attrs:
            return sess.attrs[attribute], self.handle_return_value(session, StatusCode.success)
        spec = attributes.AttributesByID.get(attribute)
        if spec is None or not spec.in_resource(sess.session_type) or not spec.read:
            return None, self.handle_return_value(session, StatusCode.error_nonsupported_attribute)
        if spec.default == "N/A" or not isinstance(spec.default, (int, float, str, bool)):  # no default
            return None, self.handle_return_value(session, StatusCode.error_nonsupported_attribute)
        return spec.default, self.handle_return_value(session, StatusCode.success)

    def set_attribute(self, session, attribute, attribute_state) -> StatusCode:
        sess = self.sessions.get(session)
        if not isinstance(sess, _Session):
            return self.handle_return_value(session, StatusCode.error_invalid_object)
        spec = attributes.AttributesByID.get(attribute)
        if spec is None or not spec.in_resource(sess.session_type):
            return self.handle_return_value(session, StatusCode.error_nonsupported_attribute)
        if not spec.write:
            return self.handle_return_value(session, StatusCode.error_attribute_read_only)
        if attribute == _ATTR.timeout_value:
            try:
                attribute_state = int(attribute_state)
            except (TypeError, ValueError):
                return self.handle_return_value(session, StatusCode.error_nonsupported_attribute_state)
            if attribute_state < 0:
                return self.handle_return_value(session, StatusCode.error_nonsupported_attribute_state)
        sess.attrs[attribute] = attribute_state
        return self.handle_return_value(session, StatusCode.success)

    # -- GPIB bus operations: accepted, nothing to do on a simulated bus ----------------------------

    def gpib_control_ren(self, session, mode) -> StatusCode:
        self._session(session)
        return self.handle_return_value(session, StatusCode.success)

    def gpib_control_atn(self, session, mode) -> StatusCode:
        self._session(session)
        return self.handle_return_value(session, StatusCode.success)

    def gpib_send_ifc(self, session) -> StatusCode:
        self._session(session)
        return self.handle_return_value(session, StatusCode.success)

    def gpib_command(self, session, command_byte: bytes):
        self._session(session)
        return len(command_byte), self.handle_return_value(session, StatusCode.success)

    def gpib_pass_control(self, session, primary_address, secondary_address) -> StatusCode:
        self._session(session)
        return self.handle_return_value(session, StatusCode.success)

    def lock(self, session, lock_type, timeout, requested_key=None):
        self._session(session)
        return requested_key or "tspcm", self.handle_return_value(session, StatusCode.success)

    def unlock(self, session) -> StatusCode:
        self._session(session)
        return self.handle_return_value(session, StatusCode.success)

    def disable_event(self, session, event_type, mechanism) -> StatusCode:
        return StatusCode.success

    def discard_events(self, session, event_type, mechanism) -> StatusCode:
        return StatusCode.success


WRAPPER_CLASS = TspcmVisaLibrary
