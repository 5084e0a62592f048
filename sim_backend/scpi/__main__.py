"""``python -m sim_backend.scpi``: size and coverage of each emulated instrument's command table.

Prints a Markdown table (the one quoted in docs/instruments.md): rows, set and query forms, how the
rows are implemented (table settings, handlers, documented refusals), the station-snapshot queries
the tables define, and the coverage. Exits 1 when a row has no implementation or a handler has no
row.
"""

from __future__ import annotations

import sys

from . import Keithley2450, Keithley2750, Keysight33522B, KeysightDSOX1102G
from .table import coverage, snapshot_queries

MODELS = (Keithley2450, Keysight33522B, KeysightDSOX1102G, Keithley2750)


def main() -> int:
    print(
        "| instrument | manual | rows | set forms | query forms | table settings | handlers "
        "| refused | snapshot queries | coverage |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    totals = [0] * 7
    bad = []
    for cls in MODELS:
        c = coverage(cls)
        n_snap = len(snapshot_queries(cls))
        values = (c.rows, c.set_forms, c.query_forms, c.table, c.handler, c.refused, n_snap)
        totals = [a + b for a, b in zip(totals, values)]
        print(
            f"| {c.model} | {cls.table.manual.split(',')[0]} | "
            + " | ".join(str(v) for v in values)
            + f" | {c.percent:.1f} % |"
        )
        bad += [f"{c.model}: no implementation: {m}" for m in c.missing]
        bad += [f"{c.model}: handler without a row: {u}" for u in c.untabled]
    covered = totals[3] + totals[4] + totals[5]
    print("| **all four** | | " + " | ".join(str(v) for v in totals) + f" | {100.0 * covered / totals[0]:.1f} % |")
    for line in bad:
        print(line, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
