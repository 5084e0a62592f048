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
"""

from __future__ import annotations

from typing import Callable, ClassVar

from . import errors as err
from .errors import ErrorQueue, ScpiError, STANDARD_MESSAGES
from .headers import Node, compile_pattern, match, split_typed
from .params import Params, split_params, split_units

Reply = str | bytes | None
Handler = Callable[["ScpiInstrument", Params], Reply]

#: Longest program message the engine parses (characters); longer ones queue -363 and are dropped.
MAX_MESSAGE_CHARS = 64 * 1024 * 1024


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
    __slots__ = ("pattern", "nodes", "set", "set_args", "get", "get_args")

    def __init__(self, pattern: str, nodes: tuple[Node, ...]):
        self.pattern = pattern
        self.nodes = nodes
        self.set: str | None = None
        self.set_args = (1, 1)
        self.get: str | None = None
        self.get_args = (0, 0)


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
    _commands: ClassVar[list[_Command]] = []

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
                        cmd.get, cmd.get_args = name, args
                    else:
                        cmd.set, cmd.set_args = name, args
        cls._commands = list(by_pattern.values())

    def __init__(self, resource_name: str = ""):
        self.resource_name = resource_name
        self.errors = ErrorQueue(self.error_queue_size)
        self.esr = err.ESR_PON
        self.ese = 0
        self.sre = 0
        self.n_messages = 0
        self._lookup: dict[tuple[tuple[str, ...], bool], tuple | None] = {}
        self._rst_state()

    # ------------------------------------------------------------------ interface to transports
    def handle(self, message: str | bytes) -> Reply:
        """Execute one program message; return the reply (without termination) or None."""
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
        replies: list[str | bytes] = []
        path: tuple[str, ...] = ()
        for unit in units:
            unit = unit.strip()
            if not unit:
                continue
            try:
                reply, path = self._execute(unit, path)
            except ScpiError as e:
                self._queue(e)
                continue
            if reply is not None:
                replies.append(reply)
        if not replies:
            return None
        if any(isinstance(r, bytes) for r in replies):
            return b";".join(r if isinstance(r, bytes) else r.encode("latin-1") for r in replies)
        return ";".join(replies)  # type: ignore[arg-type]

    def push_error(self, code: int, message: str | None = None) -> None:
        """Queue an error as the instrument would (fault injection uses this too)."""
        self._queue(ScpiError(code, message))

    def reset(self) -> None:
        """``*RST`` plus ``*CLS`` plus cleared enable registers: the state after power-on."""
        self._rst_state()
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
        """Set every setting to its ``*RST`` value."""

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

    def _execute(self, unit: str, path: tuple[str, ...]) -> tuple[Reply, tuple[str, ...]]:
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
            return self._common(header.upper(), query, data), path
        absolute = header.startswith(":")
        parts = header[1:].split(":") if absolute else header.split(":")
        if not header or any(not part for part in parts):
            raise ScpiError(-102, f"bad header {header[:40]!r}")
        typed_parts = tuple(part.upper() for part in parts)
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
        tokens = split_params(data) if data else []
        lo, hi = cmd.get_args if query else cmd.set_args
        if len(tokens) < lo:
            raise ScpiError(-109, cmd.pattern)
        if len(tokens) > hi:
            raise ScpiError(-108, cmd.pattern)
        if any(t == "" for t in tokens):
            raise ScpiError(-102, "empty parameter")
        handler = getattr(self, cmd.get if query else cmd.set)
        reply = handler(Params(tokens, sfx, alt, query))
        return reply, new_path

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
            self._rst_state()
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
        stb = self._status_extra() & 0b10001011
        if len(self.errors):
            stb |= 4
        if self.esr & self.ese:
            stb |= 32
        if stb & self.sre & ~64:
            stb |= 64
        return stb

    # ------------------------------------------------------------------ SYSTem:ERRor shared by all
    @scpi(":SYSTem:ERRor[:NEXT]", query=True)
    def _syst_err(self, p: Params) -> str:
        code, message = self.errors.pop()
        return self.format_error(code, message)

    @scpi(":SYSTem:ERRor:COUNt", query=True)
    def _syst_err_count(self, p: Params) -> str:
        return str(len(self.errors))

    @scpi(":SYSTem:ERRor:ALL", query=True)
    def _syst_err_all(self, p: Params) -> str:
        if not len(self.errors):
            return self.format_error(*self.errors.pop())
        out = []
        while len(self.errors):
            out.append(self.format_error(*self.errors.pop()))
        return ",".join(out)
