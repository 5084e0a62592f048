"""The SCPI engine: one class every emulated instrument derives from.

A model declares its commands with the :func:`scpi` decorator, in the manual's notation::

    @scpi("[:SOURce]:{VOLTage|CURRent}:RANGe", args=(1, 1))
    def _set_range(self, p): ...

    @scpi("[:SOURce]:{VOLTage|CURRent}:RANGe", query=True, args=(0, 1))
    def _get_range(self, p): ...

:meth:`ScpiInstrument.handle` takes one program message (termination stripped) and does what an
IEEE 488.2 instrument does:
- splits it into message units at ``;`` (outside strings, channel lists and blocks); empty units
  (a trailing ``;``) are ignored;
- resolves headers with the current-path rule: a header without a leading ``:`` is appended to the
  path of the previous unit (its nodes but the last), a leading ``:`` starts from the root, common
  commands (``*IDN?``) leave the path alone; every message starts at the root;
- runs the handler; an unknown header (-113), a parameter error (-1xx) or a refused value (-2xx)
  goes into the error queue and sets its ESR bit; **nothing is replied for that unit**, later units
  still run, so the next query is answered in sync;
- joins the replies of the queries of one message with ``;`` (IEEE 488.2 section 8.4.1) and returns
  them (``bytes`` when a reply is a binary block), or None when the message had no query.

Handlers parse their parameters before they change anything, so a refused value leaves the setting
unchanged. Nothing is ever evaluated: parameters go through :mod:`.params`.

Everything is synchronous in virtual time: an operation that takes time on the real instrument
advances the bench's clock before the handler returns, so ``*WAI`` has nothing left to wait for and
``*OPC?`` answers 1.

Thread safety: each instrument has its own lock (``handle``, ``push_error``, ``reset``, ``status_byte``
take it), so transports need no lock of their own and two instruments never wait for each other,
except where both act on the device model (the bench locks its model itself).
"""

from __future__ import annotations

import copy
import logging
import re
import threading
from collections.abc import Callable
from typing import ClassVar

from . import errors as err
from .errors import STANDARD_MESSAGES, ErrorQueue, ScpiError
from .headers import Node, compile_pattern, match, split_typed
from .params import Choice, Params, format_number, split_params, split_units
from .table import Row, Table, get_value, load_table, set_value

log = logging.getLogger(__name__)

Reply = str | bytes | None
Handler = Callable[["ScpiInstrument", Params], Reply]

#: Longest program message the engine parses (characters); longer ones queue -363 and are dropped.
MAX_MESSAGE_CHARS = 64 * 1024 * 1024
#: Longest mnemonic (without its numeric suffix), IEEE 488.2 section 7.6.1.4: longer ones are -112.
MAX_MNEMONIC = 12

_MNEMONIC_CHARS = re.compile(r"[A-Za-z][A-Za-z0-9_]*$")
_MINMAXDEF = Choice(["MINimum", "MAXimum", "DEFault"])


def scpi(pattern: str, *, query: bool = False, args: tuple[int, int] | None = None):
    """Declare a method as the handler of a command (``query=False``) or query (``query=True``).

    ``args`` is the (min, max) number of parameters accepted; by default (1, 1) for a command and
    (0, 0) for a query. Fewer queue -109 and more -108, before the handler runs. Decorators stack,
    so one method can serve several headers.
    """
    if args is None:
        args = (0, 0) if query else (1, 1)

    def deco(fn):
        fn.__dict__.setdefault("_scpi", []).append((pattern, query, args))
        return fn

    return deco


class _Command:
    """One header: its set and query implementations (callables ``(instrument, Params)``)."""

    __slots__ = ("pattern", "nodes", "set", "set_args", "get", "get_args", "row")

    def __init__(self, pattern: str, nodes: tuple[Node, ...]):
        self.pattern = pattern
        self.nodes = nodes
        self.set: Callable | None = None
        self.set_args = (1, 1)
        self.get: Callable | None = None
        self.get_args = (0, 0)
        self.row: Row | None = None


def _method(name: str) -> Callable:
    return lambda inst, p: getattr(inst, name)(p)


def _refusal(row: Row) -> Callable:
    def refuse(inst, p):
        raise ScpiError(row.error, row.refuse)

    return refuse


def _generic(row: Row, query: bool) -> Callable:
    if query:
        return lambda inst, p: inst._table_get(row, p)
    return lambda inst, p: inst._table_set(row, p)


#: header text -> (absolute, upper-cased mnemonics) of the headers already checked (a reading's ":READ?"
#: is checked once, not on every query)
_HEADERS: dict[str, tuple[bool, tuple[str, ...]]] = {}


def _parse_header(header: str) -> tuple[bool, tuple[str, ...]]:
    """(absolute, mnemonics upper-cased) of a program header without its '?', or ScpiError -101..-112."""
    absolute = header.startswith(":")
    parts = header[1:].split(":") if absolute else header.split(":")
    if not header or any(not part for part in parts):
        raise ScpiError(-102, f"bad header {header[:40]!r}")
    for part in parts:
        base = part.rstrip("0123456789")
        if not _MNEMONIC_CHARS.match(base or "?"):
            code = -101 if any(ord(c) < 32 or ord(c) > 126 for c in part) else -103 if "," in part else -102
            raise ScpiError(code, f"bad mnemonic {part[:40]!r}")
        if len(base) > MAX_MNEMONIC:
            raise ScpiError(-112, part[:40])
    return absolute, tuple(part.upper() for part in parts)


class ScpiInstrument:
    """Base of every virtual instrument (the ``VirtualInstrument`` interface of the transports).

    Subclasses set ``model``, ``idn``, ``error_queue_size``, override :meth:`format_error` to reply
    in their own format, :meth:`_rst_state` for their ``*RST`` defaults, and may override
    :meth:`_on_trigger` (``*TRG``) and :meth:`_status_extra` (model bits of ``*STB?``).
    """

    model: ClassVar[str] = "generic SCPI instrument"
    idn: ClassVar[str] = "TSPCM-LAB,SIMULATED,0,0"
    error_queue_size: ClassVar[int] = 10
    options: ClassVar[str] = "0"
    #: command table file in ``tables/`` (None: the model declares handlers only, no table)
    table_file: ClassVar[str | None] = None
    table: ClassVar[Table | None] = None
    #: ``*SAV``/``*RCL`` setup memories 0..save_slots-1 (0: no such commands)
    save_slots: ClassVar[int] = 0
    _commands: ClassVar[list[_Command]] = []
    _row_kinds: ClassVar[dict[str, str]] = {}
    _generic_forms: ClassVar[dict[str, set[str]]] = {}
    _untabled: ClassVar[list[str]] = []
    _keyed_rows: ClassVar[list[Row]] = []

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        by_pattern: dict[str, _Command] = {}
        for klass in reversed(cls.__mro__):
            for name, fn in vars(klass).items():
                for pattern, query, args in getattr(fn, "_scpi", ()):
                    cmd = by_pattern.get(pattern)
                    if cmd is None:
                        cmd = by_pattern[pattern] = _Command(pattern, compile_pattern(pattern))
                    if query:
                        cmd.get, cmd.get_args = _method(name), args
                    else:
                        cmd.set, cmd.set_args = _method(name), args
        cls.table = load_table(cls.table_file) if cls.table_file else None
        cls._row_kinds, cls._untabled, cls._keyed_rows, cls._generic_forms = {}, [], [], {}
        if cls.table is not None:
            cls._attach_table(by_pattern)
        cls._commands = list(by_pattern.values())

    @classmethod
    def _attach_table(cls, by_pattern: dict[str, _Command]) -> None:
        """Bind every table row to its handlers, or to the engine's table/refusal implementation.

        ``_row_kinds`` records per row "table", "handler", "refused" or, when a declared form has
        no implementation, "missing set"/"missing query" (reported by :func:`table.coverage`).
        Handlers whose header is not in the table are listed in ``_untabled``.
        """
        tabled = set()
        for row in cls.table.rows:
            tabled.add(row.header)
            cmd = by_pattern.get(row.header)
            if cmd is None:
                cmd = by_pattern[row.header] = _Command(row.header, row.nodes)
            cmd.row = row
            if row.key:
                cls._keyed_rows.append(row)
            if row.refuse:
                if cmd.set is not None or cmd.get is not None:
                    cls._row_kinds[row.header] = "refused but has a handler"
                    continue
                cmd.set, cmd.set_args = _refusal(row), (0, 1 << 30)
                cmd.get, cmd.get_args = _refusal(row), (0, 1 << 30)
                cls._row_kinds[row.header] = "refused"
                continue
            kind = "table"
            if row.set:
                if cmd.set is not None:
                    kind = "handler"
                elif row.generic_set:
                    n = len(row.set_types)
                    cmd.set, cmd.set_args = _generic(row, False), (n, n)
                    cls._generic_forms.setdefault(row.header, set()).add("set")
                else:
                    cls._row_kinds[row.header] = "missing set"
                    continue
            if row.query:
                if cmd.get is not None:
                    kind = "handler"
                elif row.generic_query:
                    numeric = row.value_types[0] in ("NRf", "NR1")
                    cmd.get, cmd.get_args = _generic(row, True), (0, 1 if numeric else 0)
                    cls._generic_forms.setdefault(row.header, set()).add("query")
                else:
                    cls._row_kinds[row.header] = "missing query"
                    continue
            if cmd.set is not None and not row.set or cmd.get is not None and not row.query:
                cls._row_kinds[row.header] = "handler form not in the table"
                continue
            cls._row_kinds[row.header] = kind
        cls._untabled = sorted(p for p in by_pattern if p not in tabled)

    def __init__(self, resource_name: str = ""):
        self.resource_name = resource_name
        self.lock = threading.RLock()
        self.errors = ErrorQueue(self.error_queue_size)
        self.esr = err.ESR_PON
        self.ese = 0
        self.sre = 0
        self.n_messages = 0
        self.s: dict = {}
        self._saved: dict[int, dict] = {}
        self._lookup: dict[tuple[tuple[str, ...], bool], tuple | None] = {}
        self._units: dict[tuple[str, tuple[str, ...]], tuple] = {}  # parsed units (see _parse_unit)
        self._full_rst(power_on=True)

    # ------------------------------------------------------------------ interface to transports
    def handle(self, message: str | bytes) -> Reply:
        """Execute one program message; return the reply (without termination) or None."""
        with self.lock:
            if type(message) is str:
                parsed = self._units.get((message, ()))
                if parsed is not None:  # a one-unit message met before (a repeated ":READ?"): nothing to split
                    self.n_messages += 1
                    return self._run_unit(message, (), parsed)[0]
            return self._handle(message)

    def _handle(self, message: str | bytes) -> Reply:
        if isinstance(message, (bytes, bytearray)):
            message = bytes(message).decode("latin-1")
        self.n_messages += 1
        if len(message) > MAX_MESSAGE_CHARS:
            self.push_error(-363, "message too long")
            return None
        message = message.rstrip("\r\n")
        try:
            units = split_units(message)
        except ScpiError as e:
            self._queue(e)
            return None
        except Exception:  # noqa: BLE001 - a lexer gap must not escape to the transport
            log.exception("%s: could not split %r", self.resource_name, message[:200])
            self.push_error(-100, "message not understood")
            return None
        replies: list[str | bytes] = []
        path: tuple[str, ...] = ()
        for unit in units:
            unit = unit.strip()
            if not unit:
                continue
            reply, path = self._run_unit(unit, path)
            if reply is not None:
                replies.append(reply)
        if not replies:
            return None
        if len(replies) == 1:
            return replies[0]
        if any(isinstance(r, bytes) for r in replies):
            return b";".join(r if isinstance(r, bytes) else r.encode("latin-1") for r in replies)
        return ";".join(replies)  # type: ignore[arg-type]

    def _run_unit(self, unit: str, path: tuple[str, ...], parsed: tuple | None = None) -> tuple[Reply, tuple[str, ...]]:
        """Execute one message unit: (its reply or None, the path after it). An error goes into the error
        queue as the instrument would queue it, and the unit replies nothing and leaves the path alone.
        ``parsed``: the unit's :meth:`_parse_unit`, when the caller has it."""
        try:
            if parsed is None:
                key = (unit, path)
                parsed = self._units.get(key)
                if parsed is None:
                    parsed = self._parse_unit(unit, path)  # a unit that does not parse raises, and is not kept
                    if len(unit) <= 200 and len(self._units) < 4096:  # not data blocks: a few short commands
                        self._units[key] = parsed
            impl, tokens, sfx, alt, query, new_path = parsed
            if impl is None:  # a common command: tokens holds (header, data)
                return self._common(tokens[0], query, tokens[1]), path
            return impl(self, Params(list(tokens), sfx, alt, query)), new_path
        except ScpiError as e:
            self._queue(e)
        except Exception:  # noqa: BLE001 - as a real instrument: an error in the queue, the session goes on
            log.exception("%s: a handler failed on %r", self.resource_name, unit[:200])
            self.push_error(-100, "command not understood")
        return None, path

    def push_error(self, code: int, message: str | None = None) -> None:
        """Queue an error as the instrument would (fault injection uses this too)."""
        with self.lock:
            self._queue(ScpiError(code, message))

    def reset(self) -> None:
        """``*RST`` plus ``*CLS`` plus cleared enable registers: the state after power-on."""
        with self.lock:
            self._full_rst()
            self._saved.clear()
            self.errors.clear()
            self.esr = 0
            self.ese = 0
            self.sre = 0

    def note_query_interrupted(self) -> None:
        """For transports: a new message arrived before the previous reply was read (-410)."""
        self.push_error(-410)

    def note_query_unterminated(self) -> None:
        """For transports: a read was attempted with no reply pending (-420)."""
        self.push_error(-420)

    # ------------------------------------------------------------------ model hooks
    def format_error(self, code: int, message: str) -> str:
        """The ``SYST:ERR?`` reply for one queue entry; models override with their own format."""
        return f'{code},"{message}"'

    def _rst_state(self) -> None:
        """Reset what the table does not hold (containers, run state) before the table's values."""

    def _after_rst(self) -> None:
        """After ``*RST``/``*RCL`` set the table's values: push the new state to the bench."""

    def _full_rst(self, power_on: bool = False) -> None:
        self._rst_state()
        self._apply_table_values(power_on)
        self._after_rst()

    def _apply_table_values(self, power_on: bool) -> None:
        """Every keyed row to its ``*RST`` value (and, at power-on, its ``initial`` value)."""
        for row in self._keyed_rows:
            value = row.rst
            if value is None:
                if not power_on or row.initial is None:
                    continue
                value = row.initial
            for alt in row.alternatives():
                for sfx in row.suffix_values():
                    v = row.lookup(value, alt, sfx)
                    if isinstance(v, str) and v.startswith("@"):
                        v = getattr(self, v[1:])(Params([], sfx, alt))
                    set_value(self, row, alt, sfx, self._table_convert(row, v))

    @staticmethod
    def _table_convert(row: Row, value):
        """A table value (``rst``/``initial``) in the type the engine stores for the row."""
        types = row.value_types
        if len(types) != 1:
            return copy.deepcopy(value)
        t = types[0]
        if t == "bool":
            return bool(value)
        if t == "NRf":
            return float(value)
        if t == "NR1":
            return int(value) if abs(value) < 1e30 else float(value)
        if t in ("CHAR", "QCHAR"):
            choices = row.choices if not isinstance(row.choices, dict) else None
            if choices:
                return Choice(choices).match(value) or value
            return value
        return value

    def _on_trigger(self) -> None:
        """``*TRG``: a bus trigger. Models that accept it override."""

    def _status_extra(self) -> int:
        """Model-specific bits (0, 1, 3, 7) of the status byte."""
        return 0

    def error_message(self, e: ScpiError) -> str:
        """The text stored for an error: the standard message, with the detail for positive codes."""
        text = STANDARD_MESSAGES.get(e.code)
        if text is None:
            text = e.detail or "Device-specific error"
        return text

    # ------------------------------------------------------------------ internals
    def _queue(self, e: ScpiError) -> None:
        self.errors.push(e.code, self.error_message(e))
        self.esr |= err.esr_bit_for(e.code)

    def _parse_unit(self, unit: str, path: tuple[str, ...]) -> tuple:
        """What a program message unit asks, checked: (implementation, parameter tokens, header suffixes,
        alternatives, query, the path after it), or (None, (header, data), (), (), query, path) for a
        common command. Depends only on the text and the path, so :meth:`_run_unit` keeps it per unit
        (a repeated ``:READ?`` is parsed once)."""
        # split header from data at the first whitespace
        n = len(unit)
        k = 0
        while k < n and not unit[k].isspace():
            k += 1
        header = unit[:k]
        data = unit[k:].strip() if k < n else ""
        query = header.endswith("?")
        if query:
            header = header[:-1]
        if header.startswith(":*"):
            header = header[1:]  # ":*CLS" (sent by PyMeasure's Keithley2450.reset)
        if header.startswith("*"):
            if not _MNEMONIC_CHARS.match(header[1:] or "?"):
                raise ScpiError(-102, f"bad common command {header[:40]!r}")
            return None, (header.upper(), data), (), (), query, path
        parsed = _HEADERS.get(header)
        if parsed is None:
            parsed = _parse_header(header)
            if len(_HEADERS) < 4096:
                _HEADERS[header] = parsed
        absolute, typed_parts = parsed
        full = typed_parts if absolute else path + typed_parts
        new_path = full[:-1]
        key = (full, query)
        hit = self._lookup.get(key, False)
        if hit is False:
            hit = self._resolve(full, query)
            if len(self._lookup) < 4096:
                self._lookup[key] = hit
        if hit is None:
            raise ScpiError(-113, ":".join(full)[:60])
        cmd, sfx, alt = hit
        row = cmd.row
        if row is not None:
            for i, value in enumerate(sfx):
                lo, hi = row.suffix_range(i)
                if not lo <= value <= hi:
                    raise ScpiError(-114, f"{value} not in {lo}..{hi}")
        tokens = split_params(data) if data else []
        lo, hi = cmd.get_args if query else cmd.set_args
        while len(tokens) > lo and tokens[-1] == "":
            tokens.pop()  # empty trailing optional fields: the parameter's default
        if len(tokens) < lo:
            raise ScpiError(-109, cmd.pattern)
        if len(tokens) > hi:
            raise ScpiError(-108, cmd.pattern)
        if any(t == "" for t in tokens[:lo]):
            raise ScpiError(-102, "empty parameter")
        return (cmd.get if query else cmd.set), tuple(tokens), sfx, alt, query, new_path

    def _resolve(self, full: tuple[str, ...], query: bool):
        typed = []
        for part in full:
            sp = split_typed(part)
            if sp is None:
                return None
            typed.append(sp)
        for cmd in self._commands:
            if (cmd.get if query else cmd.set) is None:
                continue
            m = match(cmd.nodes, typed)
            if m is not None:
                return cmd, m[0], m[1]
        return None

    # IEEE 488.2 common commands
    def _common(self, header: str, query: bool, data: str) -> Reply:
        tokens = split_params(data) if data else []
        p = Params(tokens, (), (), query)

        def no_params():
            if tokens:
                raise ScpiError(-108, header)

        if header == "*IDN" and query:
            no_params()
            return self.idn
        if header == "*RST" and not query:
            no_params()
            self._full_rst()
            return None
        if header in ("*SAV", "*RCL") and not query and self.save_slots:
            if len(tokens) != 1:
                raise ScpiError(-109 if not tokens else -108, header)
            slot = p.integer(0, lo=0, hi=self.save_slots - 1, name="setup memory")
            if header == "*SAV":
                self._saved[slot] = self._setup_values()
            elif slot not in self._saved:
                raise ScpiError(-221, f"setup memory {slot} is empty")
            else:
                self._restore_setup(self._saved[slot])
            return None
        if header == "*CLS" and not query:
            no_params()
            self.errors.clear()
            self.esr = 0
            self._clear_status_extra()
            return None
        if header == "*OPC":
            no_params()
            if query:
                return "1"
            self.esr |= err.ESR_OPC
            return None
        if header == "*WAI" and not query:
            no_params()
            return None
        if header == "*TRG" and not query:
            no_params()
            self._on_trigger()
            return None
        if header == "*STB" and query:
            no_params()
            return str(self.status_byte())
        if header == "*ESR" and query:
            no_params()
            value, self.esr = self.esr, 0
            return str(value)
        if header in ("*ESE", "*SRE"):
            attr = header[1:].lower()
            if query:
                no_params()
                return str(getattr(self, attr))
            if len(tokens) != 1:
                raise ScpiError(-109 if not tokens else -108, header)
            setattr(self, attr, p.integer(0, lo=0, hi=255, name=header))
            return None
        if header == "*TST" and query:
            no_params()
            return "0"
        if header == "*OPT" and query:
            no_params()
            return self.options
        return self._common_extra(header, query, p)

    def _common_extra(self, header: str, query: bool, p: Params) -> Reply:
        """Model-specific common commands (``*LANG?``...); unknown ones queue -113."""
        raise ScpiError(-113, header)

    def _clear_status_extra(self) -> None:
        """``*CLS`` hook for model event registers."""

    def status_byte(self) -> int:
        """IEEE 488.2 status byte: EAV (bit 2), ESB (bit 5), MSS (bit 6) plus model bits."""
        with self.lock:
            return self._status_byte()

    def _status_byte(self) -> int:
        stb = self._status_extra() & 0b10001011
        if len(self.errors):
            stb |= 4
        if self.esr & self.ese:
            stb |= 32
        if stb & self.sre & ~64:
            stb |= 64
        return stb

    # ------------------------------------------------------------------ table rows
    def _table_limit(self, row: Row, which: str, p: Params):
        value = row.lookup(getattr(row, which), p.alt, p.sfx)
        if isinstance(value, str) and value.startswith("@"):
            return getattr(self, value[1:])(p)
        return value

    def _table_parse(self, row: Row, t: str, p: Params, i: int):
        name = row.header.rsplit(":", 1)[-1].strip("[]#").lower()
        if t in ("NRf", "NR1"):
            lo = self._table_limit(row, "min", p)
            hi = self._table_limit(row, "max", p)
            default = self._table_limit(row, "default", p)
            if default is None:
                default = row.lookup(row.rst, p.alt, p.sfx) if row.rst is not None else None
                if isinstance(default, str):
                    default = None
            value = p.number(
                i,
                lo=lo,
                hi=hi,
                default=default,
                units=row.number_suffixes(p.alt, p.sfx),
                specials=row.specials or None,
                name=name,
            )
            if t == "NR1" and abs(value) < 1e30:
                return int(round(value))
            return value
        if t == "bool":
            return p.boolean(i, name)
        choices = row.lookup(row.choices, p.alt, p.sfx) if row.choices is not None else None
        if choices and isinstance(choices[0], list):
            choices = choices[i]
        if t == "CHAR":
            return p.choice(i, choices, name)
        if t == "QCHAR":
            token = p.raw(i, name).strip()
            if len(token) >= 2 and token[0] in "'\"" and token[-1] == token[0]:
                token = token[1:-1]
            return Params([token]).choice(0, choices, name)
        text = p.string(i, name)
        if row.maxlen is not None and len(text) > row.maxlen:
            raise ScpiError(-224, f"{name}: longer than {row.maxlen} characters")
        return text

    def _table_set(self, row: Row, p: Params) -> None:
        values = [self._table_parse(row, t, p, i) for i, t in enumerate(row.set_types)]
        value = values[0] if len(values) == 1 else tuple(values)
        if row.check:
            adjusted = getattr(self, row.check)(p, value)
            if adjusted is not None:
                value = adjusted
        set_value(self, row, p.alt, p.sfx, value)
        if row.after:
            getattr(self, row.after)(p)

    def _table_get(self, row: Row, p: Params) -> str:
        if p.has(0):
            word = _MINMAXDEF.match(p.raw(0))
            if word is None:
                raise ScpiError(-224, f"{p.raw(0)[:40]!r}: expected MINimum, MAXimum or DEFault")
            which = {"MIN": "min", "MAX": "max", "DEF": "default"}[word]
            value = self._table_limit(row, which, p)
            if value is None and which == "default":
                value = row.lookup(row.rst, p.alt, p.sfx)
            if value is None:
                raise ScpiError(-224, f"{word} is not defined here")
            return self.format_table_value(row, value)
        return self.format_table_value(row, get_value(self, row, p.alt, p.sfx))

    def format_table_value(self, row: Row, value) -> str:
        """A row's value as the instrument replies it (types of the set form)."""
        types = row.value_types
        values = value if len(types) > 1 else (value,)
        out = []
        for t, v in zip(types, values):
            if t == "NRf" or (t == "NR1" and abs(v) >= 1e30):
                out.append(format_number(row.fmt or self.table.number, v))
            elif t == "NR1":
                out.append((row.fmt or self.table.integer) % v)
            elif t == "bool":
                out.append("1" if v else "0")
            elif t == "CHAR":
                out.append(str(v))
            elif t == "QCHAR":
                out.append(f'"{v}"')
            else:
                out.append('"' + str(v).replace('"', '""') + '"')
        return ",".join(out)

    def _setup_values(self) -> dict:
        """Every table setting (``*SAV``): {(header, alternatives, suffixes): value}."""
        saved = {}
        for row in self._keyed_rows:
            if row.rst is None:
                continue  # not part of the setup (*RST leaves it)
            for alt in row.alternatives():
                for sfx in row.suffix_values():
                    saved[(row.header, alt, sfx)] = copy.deepcopy(get_value(self, row, alt, sfx))
        return saved

    def _restore_setup(self, saved: dict) -> None:
        rows = self.table.by_header()
        for (header, alt, sfx), value in saved.items():
            set_value(self, rows[header], alt, sfx, copy.deepcopy(value))
        self._after_rst()

    # ------------------------------------------------------------------ SYSTem:ERRor shared by all
    @scpi(":SYSTem:ERRor[:NEXT]", query=True)
    def _syst_err(self, p: Params) -> str:
        code, message = self.errors.pop()
        return self.format_error(code, message)
