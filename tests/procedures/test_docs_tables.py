"""docs/procedures.md carries every procedure's parameter table as the procedure declares it (name, label,
default, allowed range): the tables are generated from the declarations by docs/scripts/procedure_tables.py,
and a change of a default, range or label fails here until they are regenerated."""

import importlib.util
from pathlib import Path

from tspcm_lab import plugins

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _tables_module():
    spec = importlib.util.spec_from_file_location("procedure_tables", DOCS / "scripts" / "procedure_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_procedure_of_ours_has_its_generated_parameter_table_in_docs():
    tables = _tables_module()
    text = (DOCS / "procedures.md").read_text()
    documented = [m.group("name") for m in tables.BLOCK.finditer(text)]
    ours = [
        name
        for name, entries in plugins.registered().items()
        if any(e.value.startswith("procedures.") for e in entries)
    ]
    assert len(ours) >= 9 and sorted(documented) == sorted(ours)
    assert tables.stale(text) == [], "regenerate with: python docs/scripts/procedure_tables.py"


def test_a_changed_default_makes_its_table_stale():
    tables = _tables_module()
    text = (DOCS / "procedures.md").read_text()
    changed = text.replace("| `cycles` | Cycles | 5 |", "| `cycles` | Cycles | 6 |", 1)
    assert changed != text and tables.stale(changed) == ["iv-sweep"]
