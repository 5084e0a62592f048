"""Command tables: every SCPI command of an emulated instrument as one row of data.

Each instrument model names a TOML file in ``sim_backend/scpi/tables/``, written from its
programmer's reference. The file has an ``[instrument]`` table and one ``[[row]]`` per command::

    [instrument]
    model = "Keithley 2450"
    manual = "2450-901-01 Rev. B, section 6 (SCPI command reference)"
    number = "%.6E"          # format of numeric replies of table settings (NR3)
    integer = "%d"           # format of integer replies (NR1)
    not_tabled = "DIGital (no digital I/O on the bench), ..."

    [[row]]
    header = "[:SENSe#]:{CURRent|VOLTage|RESistance}[:DC]:NPLCycles"
    set = "NRf"              # set form: parameter types (absent: no set form)
    query = "NR3"            # query form: reply type (absent: no query form)
    unit = ""                # unit of the reply (SI; "" for none)
    min = 0.01
    max = 10
    rst = 1                  # *RST value (absent: *RST leaves it; give ``initial`` instead)
    key = "@nplc[{a0}]"      # where the value lives (see below)
    ref = "6-48"             # page of the manual

Headers use the manuals' notation: ``[...]`` optional nodes, ``{A|B}`` alternatives, a trailing ``#``
on a node that takes a numeric suffix (``SOURce#`` matches ``SOUR``, ``SOUR1``, ``SOUR2``).

Every row is one of three kinds, and :func:`coverage` counts them:

- **table**: a setting the engine implements from the row alone (``key`` given and the set/query
  types are among :data:`GENERIC_TYPES`): parsed, range-checked (-222 outside, MIN/MAX/DEF
  understood), stored, read back in the instrument's format, reset by ``*RST``, saved by ``*SAV``.
  ``check`` names a model method run before storing (it may raise), ``after`` one run after it
  (to act on the bench);
- **handler**: a command with behaviour, implemented by a model method declared with
  ``@scpi(<the same header>)``; ``set``/``query`` then describe its parameters and reply in words;
- **refused**: ``refuse = "<why>"`` - the command is recognised and answered with error ``error``
  (default -221) and no reply, the refusal documented in the row.

``key``: ``"name.{a0}"`` is an entry of the instrument's settings dict ``s``; ``"@attr[...]..."`` an
attribute path into the model (``"@ch[{n0}].freq_hz"``). ``{a0}``/``{a1}`` stand for the canonical
short form of the header's first/second ``{A|B}`` node, ``{n0}``/``{n1}`` for its numeric suffixes.
``n0 = [1, 2]`` gives the allowed range of the first suffix (default: only 1; outside: -114).

Dict values (``min = {VOLT = -210, CURR = -1.05}``) are looked up by ``{a0}`` (or by the suffix
``n0`` for keys made of digits). A string starting with ``@`` names a model method returning the
value (dynamic limits). ``refuses`` documents a parameter the set form refuses (error ``error``,
-221 by default) although the manual allows it. Test helpers: ``example`` (parameters a test
sends to the set form; ``"@reply"``: what the query form answered),
``query_example`` (parameters of a query), ``setup`` (commands sent first), ``reply`` (a regular
expression the reply must match), ``snapshot`` (part of a station snapshot; default: rows with a
query form and a ``key``).
"""

from __future__ import annotations

import itertools
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from .headers import Node, compile_pattern

TABLE_DIR = Path(__file__).with_name("tables")

#: Parameter types the engine parses for table rows (set forms), and reply types it formats.
GENERIC_TYPES = ("NRf", "NR1", "bool", "CHAR", "QCHAR", "STRING")

#: Suffix accepted on a number for each reply unit (SCPI suffix spelling).
_UNIT_SUFFIX = {
    "V": ("V",),
    "A": ("A",),
    "s": ("S",),
    "Hz": ("HZ",),
    "Ohm": ("OHM",),
    "%": ("PCT",),
    "deg": ("DEG",),
    "W": ("W",),
    "Vpp": ("VPP", "V"),
    "Sa/s": ("SA/S",),
}

_ROW_FIELDS = {
    "header",
    "set",
    "query",
    "query_params",
    "unit",
    "suffixes",
    "min",
    "max",
    "default",
    "rst",
    "initial",
    "specials",
    "choices",
    "maxlen",
    "key",
    "n0",
    "n1",
    "check",
    "after",
    "refuse",
    "error",
    "snapshot",
    "example",
    "query_example",
    "setup",
    "reply",
    "ref",
    "note",
    "fmt",
    "refuses",
}
#: the fields a Row takes as written in the table (header, n0/n1, suffixes and specials are parsed first)
_AS_WRITTEN = _ROW_FIELDS - {"header", "n0", "n1", "suffixes", "specials"}


class TableError(ValueError):
    """A command table is malformed; the message names the file and the row."""


@dataclass
class Row:
    header: str
    nodes: tuple[Node, ...]
    set: str | None = None
    query: str | None = None
    query_params: str = ""
    unit: Any = ""
    suffixes: tuple[str, ...] = ()
    min: Any = None
    max: Any = None
    default: Any = None
    rst: Any = None
    initial: Any = None
    specials: dict[str, float] = field(default_factory=dict)
    choices: Any = None
    maxlen: int | None = None
    key: str | None = None
    n: tuple[tuple[int, int], ...] = ()
    check: str | None = None
    after: str | None = None
    refuse: str | None = None
    error: int = -221
    snapshot: bool | None = None
    example: Any = None
    refuses: str | None = None
    query_example: str | None = None
    setup: str = ""
    reply: str | None = None
    ref: str = ""
    note: str = ""
    fmt: str | None = None

    @property
    def set_types(self) -> list[str]:
        return [t.strip() for t in self.set.split(",")] if self.set else []

    @property
    def generic_set(self) -> bool:
        return bool(self.key) and bool(self.set) and all(t in GENERIC_TYPES for t in self.set_types)

    @property
    def value_types(self) -> list[str]:
        """Types of the stored value: the set form's generic types, else the query's reply type."""
        if self.set and all(t in GENERIC_TYPES for t in self.set_types):
            return self.set_types
        reply = [{"NR3": "NRf"}.get(t.strip(), t.strip()) for t in (self.query or "").split(",")]
        return reply if all(t in GENERIC_TYPES for t in reply) else []

    @property
    def generic_query(self) -> bool:
        return bool(self.key) and bool(self.query) and bool(self.value_types)

    @property
    def in_snapshot(self) -> bool:
        if self.refuse or not self.query:
            return False
        if self.snapshot is not None:
            return self.snapshot
        return bool(self.key)

    def suffix_range(self, i: int) -> tuple[int, int]:
        return self.n[i] if i < len(self.n) else (1, 1)

    def lookup(self, value: Any, alt: tuple[str, ...], sfx: tuple[int, ...]) -> Any:
        """A per-alternative / per-suffix field value (dicts keyed by ``{a0}`` or suffix digits)."""
        if isinstance(value, dict):
            if alt and alt[0] in value:
                return value[alt[0]]
            if sfx and str(sfx[0]) in value:
                return value[str(sfx[0])]
            if "*" in value:
                return value["*"]
            raise KeyError(f"{self.header}: no value for {alt or sfx} in {value!r}")
        return value

    def number_suffixes(self, alt: tuple[str, ...] = (), sfx: tuple[int, ...] = ()) -> tuple[str, ...]:
        if self.suffixes:
            return self.suffixes
        return _UNIT_SUFFIX.get(self.lookup(self.unit, alt, sfx), ())

    # ---------------------------------------------------------------- concrete headers
    def alternatives(self) -> list[tuple[str, ...]]:
        """Every combination of the canonical short forms of the ``{A|B}`` nodes (required ones)."""
        alts = [[f[2] for f in node.forms] for node in self.nodes if node.is_alt and not node.optional]
        return [tuple(c) for c in itertools.product(*alts)] if alts else [()]

    def suffix_values(self, every: bool = True) -> list[tuple[int, ...]]:
        """Suffix tuples for the ``#`` nodes: every allowed value (or just the ends)."""
        count = sum(1 for node in self.nodes if node.suffix)
        ranges = []
        for i in range(count):
            lo, hi = self.suffix_range(i)
            ranges.append(list(range(lo, hi + 1)) if every else sorted({lo, hi}))
        return [tuple(c) for c in itertools.product(*ranges)] if ranges else [()]

    def concrete(
        self, alt: tuple[str, ...] = (), sfx: tuple[int, ...] = (), query: bool = False, long: bool = False
    ) -> str:
        """A header a client would send: required nodes only, short (or long) forms."""
        parts = []
        ai = si = 0
        for node in self.nodes:
            value = None
            if node.suffix:
                value = sfx[si] if si < len(sfx) else 1
                si += 1
            if node.optional and value in (None, 1):
                continue
            if node.is_alt and not node.optional:
                choice = alt[ai] if ai < len(alt) else node.forms[0][2]
                ai += 1
                form = next(f for f in node.forms if f[2] == choice)
            else:
                form = node.forms[0]
            word = form[1] if long else form[0]
            if value is not None:
                word += str(value)
            parts.append(word)
        return ":" + ":".join(parts) + ("?" if query else "")


@dataclass
class Table:
    path: Path
    model: str
    manual: str
    number: str
    integer: str
    not_tabled: str
    rows: list[Row]

    def by_header(self) -> dict[str, Row]:
        """The rows by header (built once: the rows of a loaded table do not change; an emulated
        2450 looks rows up on every step of a sweep)."""
        found = self.__dict__.get("_by_header")
        if found is None or len(found) != len(self.rows):
            found = self.__dict__["_by_header"] = {row.header: row for row in self.rows}
        return found


def _as_range(value, where: str) -> tuple[int, int]:
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value) and value[0] <= value[1]:
        return value[0], value[1]
    raise TableError(f"{where}: a suffix range is [lo, hi], got {value!r}")


def _row(raw: dict, where: str) -> Row:
    unknown = set(raw) - _ROW_FIELDS
    if unknown:
        raise TableError(f"{where}: unknown field(s) {sorted(unknown)}")
    if "header" not in raw:
        raise TableError(f"{where}: no header")
    header = raw["header"]
    try:
        nodes = compile_pattern(header)
    except ValueError as e:
        raise TableError(f"{where}: {e}") from None
    if not raw.get("set") and not raw.get("query") and not raw.get("refuse"):
        raise TableError(f"{where} ({header}): neither a set nor a query form")
    n = []
    for i in range(2):
        if f"n{i}" in raw:
            n.append(_as_range(raw[f"n{i}"], f"{where} ({header}) n{i}"))
        elif i == 0 and "n1" in raw:
            n.append((1, 1))
    kwargs = {k: raw[k] for k in _AS_WRITTEN if k in raw}
    row = Row(
        header=header,
        nodes=nodes,
        n=tuple(n),
        suffixes=tuple(s.upper() for s in raw.get("suffixes", ())),
        specials=dict(raw.get("specials", {})),
        **kwargs,
    )
    if row.key and any(node.is_alt and node.optional for node in nodes):
        raise TableError(f"{where} ({header}): a keyed row cannot have an optional {{A|B}} node")
    if row.key and row.set and row.generic_set:
        if row.rst is None and row.initial is None:
            raise TableError(f"{where} ({header}): a table setting needs rst or initial")
        for t in row.set_types:
            if t in ("CHAR", "QCHAR") and not row.choices:
                raise TableError(f"{where} ({header}): CHAR needs choices")
    if row.reply:
        re.compile(row.reply)
    return row


@cache
def load_table(name: str) -> Table:
    """Load ``tables/<name>`` (cached: tables are read-only data)."""
    path = TABLE_DIR / name
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TableError(f"command table {path} does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise TableError(f"command table {path}: {e}") from None
    meta = doc.get("instrument", {})
    rows = [_row(raw, f"{path.name} row {i + 1}") for i, raw in enumerate(doc.get("row", []))]
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        if row.header in seen:
            raise TableError(f"{path.name} row {i + 1}: header {row.header!r} already in row {seen[row.header] + 1}")
        seen[row.header] = i
    return Table(
        path=path,
        model=meta.get("model", ""),
        manual=meta.get("manual", ""),
        number=meta.get("number", "%.6E"),
        integer=meta.get("integer", "%d"),
        not_tabled=meta.get("not_tabled", ""),
        rows=rows,
    )


# -------------------------------------------------------------------- state paths
_SEGMENT = re.compile(r"([A-Za-z_]\w*)(?:\[([^\]]+)\])?$")


def _index(container, raw: str):
    if isinstance(container, dict) and raw not in container and raw.lstrip("-").isdigit():
        return int(raw)
    if isinstance(container, (list, tuple)):
        return int(raw)
    return raw


#: (key, alternatives, suffixes) -> how get_value/set_value reach the row's state, decided once per key (a setting
#: or a configuration list entry is read and written thousands of times in a run): (STATE, text, None) an entry
#: of the instrument's state dict, (ATTRIBUTE, name, None) an attribute, (ITEM, name, raw index) an item of an
#: attribute's container, (PATH, segments, None) a longer path of (name, raw index or None) segments
_PLANS: dict[tuple, tuple] = {}
STATE, ATTRIBUTE, ITEM, PATH = range(4)


def _plan(key: str, alt, sfx) -> tuple:
    """The key for these alternatives and suffixes, formatted and split into (name, index) segments, as the
    plan of how to reach it: the same for every command that reaches the row, so kept."""
    try:
        cache_key = (key, alt, sfx)
        plan = _PLANS.get(cache_key)
    except TypeError:  # alternatives or suffixes in a list
        cache_key = (key, tuple(alt), tuple(sfx))
        plan = _PLANS.get(cache_key)
    if plan is not None:
        return plan
    names = {f"a{i}": a for i, a in enumerate(alt)}
    names.update({f"n{i}": s for i, s in enumerate(sfx)})
    text = key.format(**names)
    if not text.startswith("@"):
        plan = (STATE, text, None)
    else:
        segments = []
        for seg in text[1:].split("."):
            m = _SEGMENT.match(seg)
            if m is None:
                raise TableError(f"bad key segment {seg!r} in {key!r}")
            segments.append(m.groups())
        if len(segments) == 1:
            name, idx = segments[0]
            plan = (ATTRIBUTE, name, None) if idx is None else (ITEM, name, idx)
        else:
            plan = (PATH, tuple(segments), None)
    if len(_PLANS) < 65536:  # table rows x alternatives x suffixes: a few thousand at most
        _PLANS[cache_key] = plan
    return plan


def _item_index(container, raw: str):
    """:func:`_index`, at once for the commonest case: a key the dict holds."""
    return raw if type(container) is dict and raw in container else _index(container, raw)


def _resolve_path(inst, segments: tuple):
    """(container, index, is_attribute) at the end of a PATH plan's segments."""
    obj = inst
    last = len(segments) - 1
    for k, (name, idx) in enumerate(segments):
        if idx is None:
            if k == last:
                return obj, name, True
            obj = getattr(obj, name)
            continue
        container = getattr(obj, name)
        index = _index(container, idx)
        if k == last:
            return container, index, False
        obj = container[index]
    raise TableError("empty key")


def get_value(inst, row: Row, alt, sfx):
    kind, name, idx = _plan(row.key, alt, sfx)
    if kind == STATE:
        return inst.s[name]
    if kind == ATTRIBUTE:
        return getattr(inst, name)
    if kind == ITEM:
        container = getattr(inst, name)
        return container[_item_index(container, idx)]
    container, index, attr = _resolve_path(inst, name)
    return getattr(container, index) if attr else container[index]


def set_value(inst, row: Row, alt, sfx, value) -> None:
    kind, name, idx = _plan(row.key, alt, sfx)
    if kind == STATE:
        inst.s[name] = value
    elif kind == ATTRIBUTE:
        setattr(inst, name, value)
    elif kind == ITEM:
        container = getattr(inst, name)
        container[_item_index(container, idx)] = value
    else:
        container, index, attr = _resolve_path(inst, name)
        if attr:
            setattr(container, index, value)
        else:
            container[index] = value


# -------------------------------------------------------------------- reports
@dataclass
class Coverage:
    model: str
    rows: int
    table: int
    handler: int
    refused: int
    set_forms: int
    query_forms: int
    missing: list[str]
    untabled: list[str]

    @property
    def covered(self) -> int:
        return self.table + self.handler + self.refused

    @property
    def percent(self) -> float:
        return 100.0 * self.covered / self.rows if self.rows else 0.0


def coverage(cls) -> Coverage:
    """How the rows of ``cls``'s table are implemented (see the module doc)."""
    table = cls.table
    kinds = cls._row_kinds
    counts = {"table": 0, "handler": 0, "refused": 0}
    missing = []
    for row in table.rows:
        kind = kinds.get(row.header)
        if kind in counts:
            counts[kind] += 1
        else:
            missing.append(f"{row.header} ({kind})")
    return Coverage(
        model=cls.model,
        rows=len(table.rows),
        table=counts["table"],
        handler=counts["handler"],
        refused=counts["refused"],
        set_forms=sum(1 for r in table.rows if r.set),
        query_forms=sum(1 for r in table.rows if r.query),
        missing=missing,
        untabled=list(cls._untabled),
    )


def snapshot_queries(cls) -> list[str]:
    """Every readable setting of ``cls`` as concrete queries (all alternatives and suffixes)."""
    out = []
    for row in cls.table.rows:
        if not row.in_snapshot:
            continue
        params = f" {row.query_example}" if row.query_example else ""
        for alt in row.alternatives():
            for sfx in row.suffix_values():
                out.append(row.concrete(alt, sfx, query=True) + params)
    return out
