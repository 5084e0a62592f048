"""Every row of every command table, exercised through the SCPI dialogue (issue 14, must-show 1).

For each row: its set form is accepted (a table setting then reads back as the instrument formats
it, its *RST value reads back after a reset, MIN/MAX/DEF queries answer the row's limits, a value
beyond them is refused with -222 and changes nothing), its query form is answered (matching the
row's ``reply`` pattern when given), a refused row answers its documented error and no reply; the
error queue is empty after every accepted exchange. Instruments are disconnected (SCPI dialogue
only): the physics is tested elsewhere.
"""

from __future__ import annotations

import re

import pytest

from sim_backend.scpi import Keithley2450, Keithley2750, Keysight33522B, KeysightDSOX1102G
from sim_backend.scpi.params import Choice
from sim_backend.scpi.table import coverage

MODELS = (Keithley2450, Keysight33522B, KeysightDSOX1102G, Keithley2750)
CASES = [(cls, row) for cls in MODELS for row in cls.table.rows]


def _errors(inst) -> list[str]:
    out = []
    while True:
        reply = inst.handle("SYST:ERR?")
        if reply.split(",")[0].lstrip("+") == "0":
            return out
        out.append(reply)


def _send(inst, message: str):
    reply = inst.handle(message)
    errors = _errors(inst)
    assert not errors, f"{message!r} -> {errors}"
    return reply


def _static(value, alt, sfx, row):
    if value is None:
        return None
    value = row.lookup(value, alt, sfx)
    return None if isinstance(value, str) else value


def _candidate(row, alt, sfx):
    """A valid set value different from the *RST value, and the reply it should read back as."""
    t = row.set_types[0]
    rst = _static(row.rst, alt, sfx, row) if row.rst is not None else None
    if t in ("NRf", "NR1"):
        lo, hi = _static(row.min, alt, sfx, row), _static(row.max, alt, sfx, row)
        if lo is not None and hi is not None:
            value = lo + (hi - lo) * 0.37
        else:
            value = (rst or 0.5) * 2 if rst else 0.5
        if t == "NR1":
            value = int(round(value))
        return repr(value), value
    if t == "bool":
        value = not rst
        return "ON" if value else "OFF", value
    if t in ("CHAR", "QCHAR"):
        choices = row.lookup(row.choices, alt, sfx)
        shorts = [Choice([c]).match(c) for c in choices]
        value = next(s for s in reversed(shorts) if s != Choice(choices).match(str(rst)))
        return (f'"{value}"' if t == "QCHAR" else value), value
    return '"probe text"', "probe text"


def _example(row, alt, sfx):
    example = row.lookup(row.example, alt, sfx) if isinstance(row.example, dict) else row.example
    return example


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_table_coverage_is_complete(cls):
    c = coverage(cls)
    print(
        f"{c.model}: {c.rows} rows ({c.set_forms} set forms, {c.query_forms} query forms): "
        f"{c.table} table settings, {c.handler} handlers, {c.refused} documented refusals "
        f"-> {c.percent:.1f} %"
    )
    assert c.missing == [], f"rows without an implementation: {c.missing}"
    assert c.untabled == [], f"handlers for headers not in the table: {c.untabled}"
    assert c.percent == 100.0
    for row in cls.table.rows:
        assert row.ref, f"{row.header}: no manual reference"
        if row.refuse:
            assert len(row.refuse) > 20, f"{row.header}: a refusal needs its reason"


@pytest.mark.parametrize("cls, row", CASES, ids=[f"{cls.__name__}:{row.header}" for cls, row in CASES])
def test_row_is_answered_with_the_manuals_semantics(cls, row):
    inst = cls(None)
    _errors(inst)
    number = cls.table.number
    for alt in row.alternatives():
        for sfx in row.suffix_values(every=False):
            names = {f"a{i}": a for i, a in enumerate(alt)}
            names.update({f"n{i}": n for i, n in enumerate(sfx)})
            for message in filter(None, (m.strip() for m in row.setup.format(**names).split("\n"))):
                _send(inst, message)
            set_header = row.concrete(alt, sfx)
            query_header = row.concrete(alt, sfx, query=True)
            if row.refuse:
                assert inst.handle(f"{set_header} 1") is None
                assert inst.handle(query_header) is None
                errors = _errors(inst)
                assert len(errors) == 2 and all(
                    e.startswith(f"{row.error},") or e.startswith(f"{row.error:+d},") for e in errors
                ), errors
                continue
            if row.query:
                params = f" {row.query_example}" if row.query_example else ""
                reply = _send(inst, query_header + params)
                assert reply not in (None, ""), f"{query_header}: no reply"
                if row.reply:
                    assert re.fullmatch(row.reply, reply if isinstance(reply, str) else "block")
            generic = cls._generic_forms.get(row.header, set())
            if "query" in generic and row.rst is not None:
                rst = row.lookup(row.rst, alt, sfx)
                if not (isinstance(rst, str) and rst.startswith("@")):
                    _send(inst, "*RST")
                    expected = inst.format_table_value(row, inst._table_convert(row, rst))
                    assert _send(inst, query_header) == expected, "*RST value"
            if not row.set:
                continue
            example = _example(row, alt, sfx)
            if row.refuses is not None:
                _check_refusal(inst, row, alt, sfx, set_header, query_header)
            if example == "@reply":
                example = inst.handle(query_header)
                assert isinstance(example, bytes)
                _send(inst, set_header.encode() + b" " + example)
            elif "set" in generic and example is None and len(row.set_types) == 1:
                text, value = _candidate(row, alt, sfx)
                _send(inst, f"{set_header} {text}")
                if "query" in generic:
                    t = row.set_types[0]
                    got = _send(inst, query_header)
                    if t == "NRf":
                        assert float(got) == pytest.approx(value, rel=1e-6, abs=1e-15)
                        assert got == (row.fmt or number) % float(got)
                    else:
                        assert got == inst.format_table_value(row, value)
                    _check_limits(inst, row, alt, sfx, set_header, query_header, got)
            elif example is not None:
                _send(inst, f"{set_header} {example}" if example != "" else set_header)
            elif row.set.startswith("(none)"):
                _send(inst, set_header)
            else:
                pytest.fail(f"{row.header}: a handler row with parameters needs an example")


def _check_refusal(inst, row, alt, sfx, set_header, query_header):
    """A documented refusal of a value: the row's error, no reply, the setting unchanged."""
    before = inst.handle(query_header) if row.query else None
    _errors(inst)
    refused = row.lookup(row.refuses, alt, sfx) if isinstance(row.refuses, dict) else row.refuses
    assert inst.handle(f"{set_header} {refused}") is None
    errors = _errors(inst)
    assert len(errors) == 1 and int(errors[0].split(",")[0]) == row.error, errors
    if row.query:
        assert inst.handle(query_header) == before


def _check_limits(inst, row, alt, sfx, set_header, query_header, current):
    """MIN/MAX/DEF read back the row's limits; a value beyond them is -222 and changes nothing."""
    if row.set_types[0] not in ("NRf", "NR1"):
        return
    lo, hi = _static(row.min, alt, sfx, row), _static(row.max, alt, sfx, row)
    if lo is None or hi is None:
        return
    assert float(_send(inst, f"{query_header} MIN")) == pytest.approx(lo)
    assert float(_send(inst, f"{query_header} MAX")) == pytest.approx(hi)
    beyond = hi + max(1.0, abs(hi))
    assert inst.handle(f"{set_header} {beyond!r}") is None
    errors = _errors(inst)
    assert len(errors) == 1 and errors[0].lstrip("+").startswith("222,") or errors[0].startswith("-222,"), errors
    assert _send(inst, query_header) == current
