"""Fault injection for the simulated bench, shared by both ways in (``@tspcm`` and the TCP server).

A :class:`FaultPlan` belongs to one bench. Tests add faults to a resource (a VISA resource name of the
bench, or a role alias ``smu``/``awg``/``scope``/``matrix`` of the default wiring)::

    plan.add("smu", Latency(seconds=0.2))         # every reply becomes readable 0.2 s (wall time) later
    plan.add("smu", DropConnection(at=5))         # the 5th command and every later one: link lost
    plan.add("awg", StopAnswering(at=1))          # commands vanish, queries time out (client's timeout)
    plan.add("scope", PushError(-350, "Queue overflow"))  # pushed into the error queue right now

Through ``@tspcm`` the plan is ``rm.visalib.faults`` (or ``pyvisa_tspcm.get_faults(spec)``); in the TCP
server it is ``SimServer.faults``. For a subprocess (``tspcm sim serve --fault ...``) or a library path,
the same faults are written as text, ``<resource-or-role>:<kind>[=<value>]``::

    smu:latency=0.2   smu:drop=5   smu:drop-once=5   awg:hang   awg:hang=3   scope:error=-350,Queue overflow

and may be joined to a bench spec with ``;fault=``:
``ResourceManager("seed=42;fault=smu:drop=5@tspcm")``.

Commands are counted per resource (all sessions and connections together): every program message (a
line) a transport hands to the instrument counts, and a fault's ``at=N`` is the N-th command after the
fault was added. :meth:`FaultPlan.clear` forgets faults and revives dropped links. Faults act on the link, never on the instrument's physics: a dropped or ignored command is
not executed.

The bench factory (:func:`set_bench_factory`, default ``sim_backend.bench.open_bench``) lives here too,
because a spec string carries both the bench options and the fault options: :func:`open_bench_with_faults`
splits them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyvisa import rname

from sim_backend.scpi import DEFAULT_RESOURCES

#: Role aliases of the default bench wiring (``sim_backend.scpi.DEFAULT_RESOURCES``), in serving order.
ROLE_RESOURCES: dict[str, str] = {terminal: name for name, (_, terminal) in DEFAULT_RESOURCES.items()}


@dataclass(frozen=True)
class Latency:
    """Each reply becomes readable ``seconds`` of wall time after the query (for timeout tests)."""

    seconds: float

    def __post_init__(self) -> None:
        if not 0 <= self.seconds <= 3600:
            raise ValueError(f"Latency seconds must be in [0, 3600] s, got {self.seconds!r}")


@dataclass(frozen=True)
class DropConnection:
    """The link drops at the ``at``-th command (1 = the first), which is not executed.

    ``persistent=True``: every later command drops too (the instrument is gone until the plan is cleared).
    ``persistent=False``: only that one command; a new session or connection then works again.
    Through ``@tspcm`` a drop raises ``VisaIOError(VI_ERROR_CONN_LOST)`` and kills the session; over TCP
    the server closes the socket.
    """

    at: int = 1
    persistent: bool = True

    def __post_init__(self) -> None:
        if not (isinstance(self.at, int) and self.at >= 1):
            raise ValueError(f"DropConnection at must be an integer >= 1, got {self.at!r}")


@dataclass(frozen=True)
class StopAnswering:
    """From the ``at``-th command on the instrument ignores everything: queries time out."""

    at: int = 1

    def __post_init__(self) -> None:
        if not (isinstance(self.at, int) and self.at >= 1):
            raise ValueError(f"StopAnswering at must be an integer >= 1, got {self.at!r}")


@dataclass(frozen=True)
class PushError:
    """Push ``(code, message)`` into the instrument's error queue once, when the fault is added."""

    code: int
    message: str

    def __post_init__(self) -> None:
        if not (isinstance(self.code, int) and -32768 <= self.code <= 32767):
            raise ValueError(f"PushError code must be an integer in [-32768, 32767], got {self.code!r}")


Fault = Latency | DropConnection | StopAnswering | PushError

#: What a transport does with one command: ``PASS`` it to the instrument (and delay the reply by
#: ``delay_s``), ``DROP`` the link, or ``IGNORE`` it (the instrument has stopped answering).
PASS, DROP, IGNORE = "pass", "drop", "ignore"


@dataclass(frozen=True)
class Verdict:
    action: str
    delay_s: float = 0.0


_PASS_NOW = Verdict(PASS)


class FaultPlan:
    """The faults active on one bench, keyed by resource name; thread-safe.

    A fault's ``at`` counts the commands its resource receives after the fault was added (1 = the first
    one after :meth:`add`).
    """

    def __init__(self, instruments: dict[str, Any]):
        self._instruments = instruments
        self._lock = threading.Lock()
        self._faults: dict[str, list[tuple[Fault, int]]] = {}  # resource -> [(fault, count when added)]
        self._counts: dict[str, int] = {}
        self._dropped: set[str] = set()

    def resolve(self, target: str) -> str:
        """The bench resource name for a resource name (any VISA spelling) or a role alias."""
        if target in self._instruments:
            return target
        alias = ROLE_RESOURCES.get(target.strip().lower())
        if alias is not None and alias in self._instruments:
            return alias
        normal = normal_resource_name(target.strip())
        for name in self._instruments:
            if normal_resource_name(name) == normal:
                return name
        roles = [role for role, name in ROLE_RESOURCES.items() if name in self._instruments]
        allowed = ", ".join(list(self._instruments) + roles)
        raise ValueError(f"fault target {target!r} is not a resource of this bench; allowed: {allowed}")

    def add(self, target: str, fault: Fault) -> str:
        """Activate ``fault`` on ``target``; returns the resolved resource name."""
        if not isinstance(fault, (Latency, DropConnection, StopAnswering, PushError)):
            raise TypeError(f"fault must be Latency, DropConnection, StopAnswering or PushError, got {fault!r}")
        resource = self.resolve(target)
        if isinstance(fault, PushError):
            self._instruments[resource].push_error(fault.code, fault.message)
            return resource
        with self._lock:
            base = self._counts.get(resource, 0)
            self._faults.setdefault(resource, []).append((fault, base))
        return resource

    def add_text(self, text: str) -> str:
        """Activate a fault written as ``<resource-or-role>:<kind>[=<value>]`` (see module doc)."""
        target, fault = parse_fault(text)
        return self.add(target, fault)

    def clear(self, target: str | None = None) -> None:
        """Remove the faults of ``target`` (or of every resource) and revive dropped links."""
        with self._lock:
            if target is None:
                self._faults.clear()
                self._counts.clear()
                self._dropped.clear()
            else:
                resource = self.resolve(target)
                self._faults.pop(resource, None)
                self._counts.pop(resource, None)
                self._dropped.discard(resource)

    def active(self, target: str) -> tuple[Fault, ...]:
        """The faults currently set on ``target``."""
        return tuple(fault for fault, _ in self._faults.get(self.resolve(target), ()))

    def is_dropped(self, resource: str) -> bool:
        """True once a persistent :class:`DropConnection` on ``resource`` has fired."""
        return resource in self._dropped

    def is_silent(self, resource: str) -> bool:
        """True when ``resource`` has stopped answering (a reply will never come)."""
        entries = self._faults.get(resource)
        if not entries:
            return False
        count = self._counts.get(resource, 0)
        return any(isinstance(f, StopAnswering) and count - base >= f.at for f, base in entries)

    def before_command(self, resource: str) -> Verdict:
        """Count one command to ``resource`` and say what the transport must do with it."""
        if not self._faults and not self._dropped:
            return _PASS_NOW  # fast path: no fault anywhere
        with self._lock:
            count = self._counts.get(resource, 0) + 1
            self._counts[resource] = count
            if resource in self._dropped:
                return Verdict(DROP)
            delay_s = 0.0
            for fault, base in self._faults.get(resource, ()):
                n = count - base
                if isinstance(fault, DropConnection):
                    if n == fault.at or (fault.persistent and n > fault.at):
                        if fault.persistent:
                            self._dropped.add(resource)
                        return Verdict(DROP)
                elif isinstance(fault, StopAnswering):
                    if n >= fault.at:
                        return Verdict(IGNORE)
                elif isinstance(fault, Latency):
                    delay_s += fault.seconds
            return Verdict(PASS, delay_s) if delay_s else _PASS_NOW


def normal_resource_name(name: str) -> str:
    """Canonical spelling of a VISA resource name (``GPIB::18`` -> ``GPIB0::18::INSTR``)."""
    try:
        return str(rname.parse_resource_name(name.strip().upper()))  # VISA names ignore case
    except Exception:
        return name.strip().upper()


def parse_fault(text: str) -> tuple[str, Fault]:
    """Parse ``<resource-or-role>:<kind>[=<value>]`` into ``(target, fault)``.

    Kinds: ``latency=<seconds>``, ``drop=<n>``, ``drop-once=<n>``, ``hang`` / ``hang=<n>``,
    ``error=<code>,<message>``.
    """
    target, sep, rest = text.strip().rpartition(":")
    if not sep or not target:
        raise ValueError(f"fault {text!r} must look like '<resource-or-role>:<kind>[=<value>]', e.g. 'smu:drop=5'")
    kind, _, value = rest.partition("=")
    kind = kind.strip().lower()
    value = value.strip()
    try:
        if kind == "latency":
            return target, Latency(float(value))
        if kind in ("drop", "drop-once"):
            return target, DropConnection(int(value) if value else 1, persistent=(kind == "drop"))
        if kind == "hang":
            return target, StopAnswering(int(value) if value else 1)
        if kind == "error":
            code, _, message = value.partition(",")
            return target, PushError(int(code), message.strip().strip('"') or "Injected error")
    except ValueError as exc:
        raise ValueError(f"fault {text!r}: bad value {value!r} ({exc})") from None
    raise ValueError(f"fault {text!r}: unknown kind {kind!r}; allowed: latency, drop, drop-once, hang, error")


def split_spec(spec: str) -> tuple[str, list[str]]:
    """Split a bench spec into (bench options, fault texts): ``fault=...`` options are ours."""
    bench_parts: list[str] = []
    faults: list[str] = []
    for part in spec.split(";"):
        key, sep, value = part.partition("=")
        if sep and key.strip().lower() == "fault":
            faults.append(value.strip())
        elif part.strip():
            bench_parts.append(part.strip())
    return ";".join(bench_parts), faults


# -- the bench factory ------------------------------------------------------------------------------

BenchFactory = Callable[[str], Any]
_bench_factory: BenchFactory | None = None


def default_bench_factory(spec: str) -> Any:
    """``sim_backend.bench.open_bench(spec)``, imported on first use."""
    from sim_backend.bench import open_bench

    return open_bench(spec)


def set_bench_factory(factory: BenchFactory | None) -> BenchFactory | None:
    """Make ``factory(spec) -> bench`` build benches (``None``: the default); returns the previous one.

    A bench needs ``instruments: dict[str, VirtualInstrument]`` and ``reset()``. Meant for tests and
    for embedding another bench; ``@tspcm`` benches already open keep the factory they were built with.
    """
    global _bench_factory
    previous = _bench_factory
    _bench_factory = factory
    return previous


def get_bench_factory() -> BenchFactory:
    return _bench_factory or default_bench_factory


def open_bench_with_faults(spec: str) -> tuple[Any, FaultPlan]:
    """Build a bench from ``spec`` (fault options removed) and its :class:`FaultPlan` (options added)."""
    bench_spec, fault_texts = split_spec(spec)
    bench = get_bench_factory()(bench_spec)
    plan = FaultPlan(bench.instruments)
    for text in fault_texts:
        plan.add_text(text)
    return bench, plan


def serving_order(instruments: dict[str, Any]) -> list[str]:
    """Resource names in the shared table's order (smu, awg, scope, matrix), then any others."""
    known = [r for r in ROLE_RESOURCES.values() if r in instruments]
    return known + [r for r in instruments if r not in known]
