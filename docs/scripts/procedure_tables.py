"""The parameter tables of docs/procedures.md, generated from the procedures' own parameter declarations.

    python docs/scripts/procedure_tables.py            # rewrite the tables in docs/procedures.md
    python docs/scripts/procedure_tables.py --check    # exit 1, naming the stale tables, if one differs

Each table sits between ``<!-- parameters: NAME -->`` and ``<!-- /parameters -->`` (NAME: the procedure's
registered name, ``tspcm procedures`` lists them); the text around it is written by hand and does not
repeat defaults or ranges. A test (tests/procedures/test_docs_tables.py) runs the check, so a changed
default, range or label fails the suite until the tables are regenerated.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "procedures.md"
BLOCK = re.compile(r"(<!-- parameters: (?P<name>[\w-]+) -->\n)(?P<table>.*?)(<!-- /parameters -->)", re.S)


def table(name: str) -> str:
    """The markdown table of the parameters of the registered procedure ``name``, in declaration order."""
    from tspcm_lab import plugins
    from tspcm_lab.si import format_si

    rows = ["| parameter | meaning | default | allowed |", "|---|---|---|---|"]
    for info in plugins.parameter_infos(plugins.load_procedure(name)):
        if info.kind == "BooleanParameter":
            default = str(bool(info.default)).lower()
        elif info.units and isinstance(info.default, (int, float)):
            default = format_si(info.default, info.units, ascii=True)
        else:
            default = "-" if info.default is None else str(info.default)
        if info.choices:
            allowed = ", ".join(info.choices)
        elif info.minimum is not None and info.maximum is not None and info.units:
            allowed = (
                f"{format_si(info.minimum, info.units, ascii=True)} .. "
                f"{format_si(info.maximum, info.units, ascii=True)}"
            )
        else:
            allowed = info.allowed
        rows.append(f"| `{info.key}` | {info.label} | {default} | {allowed} |")
    return "\n".join(rows) + "\n"


def render(text: str) -> str:
    """``text`` with every marked table regenerated."""
    return BLOCK.sub(lambda m: m.group(1) + table(m.group("name")) + m.group(4), text)


def stale(text: str) -> list[str]:
    """The names of the marked tables in ``text`` that differ from the declarations."""
    return [m.group("name") for m in BLOCK.finditer(text) if m.group("table") != table(m.group("name"))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if a table is stale")
    parser.add_argument("doc", nargs="?", type=Path, default=DOC, help="the markdown file (default: %(default)s)")
    args = parser.parse_args(argv)
    text = args.doc.read_text()
    if not BLOCK.search(text):
        print(f"{args.doc}: no <!-- parameters: NAME --> blocks", file=sys.stderr)
        return 1
    if args.check:
        names = stale(text)
        if names:
            print(
                f"{args.doc}: stale parameter tables: {', '.join(names)}; regenerate with "
                f"python docs/scripts/procedure_tables.py",
                file=sys.stderr,
            )
            return 1
        return 0
    args.doc.write_text(render(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
