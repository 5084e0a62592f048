"""The command tables' parsed documents kept as JSON (sim_backend.scpi.table._parsed): what the engine gets from
the kept copy is what tomllib reads from the table, value for value and type for type, and an edited table is
read anew."""

from __future__ import annotations

import math
import tomllib

import pytest

from sim_backend.scpi import table

TABLES = sorted(table.TABLE_DIR.glob("*.toml"))


def same(a, b) -> bool:
    """Equal and of the same type all the way down (1 and 1.0 differ; nan equals nan)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


@pytest.mark.parametrize("path", TABLES, ids=lambda p: p.name)
def test_the_kept_document_is_the_tables_own(path):
    expected = tomllib.loads(path.read_text(encoding="utf-8"))
    table._parsed(path)  # writes the kept copy if there is none yet
    assert list((path.parent / "__pycache__").glob(f"{path.stem}.*.json"))
    assert same(table._parsed(path), expected)


def test_an_edited_table_is_read_anew_and_odd_values_survive(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text('[instrument]\nmodel = "A"\n[[row]]\nheader = "X"\nmin = 1\nmax = inf\nrst = 1.0\n')
    first = table._parsed(path)
    assert same(table._parsed(path), first)  # from the kept copy
    assert first["row"][0]["max"] == math.inf and type(first["row"][0]["min"]) is int
    path.write_text('[instrument]\nmodel = "B"\n[[row]]\nheader = "X"\nmin = 2\n')
    assert table._parsed(path)["instrument"]["model"] == "B"
    assert len(list((tmp_path / "__pycache__").glob("t.*.json"))) == 2
