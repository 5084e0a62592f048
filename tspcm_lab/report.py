"""A self-contained HTML report of a batch of analysed runs: one file, figures embedded as base64 PNG.

Contents: the files that failed (by name, with the reason); per procedure, the statistics of every feature
over the runs (n, mean, sigma -- a dash for one run --, min, max, with SI prefixes); Vth distributions
(per cycle pooled over all I-V runs, and the per-run means, at each run's own criterion); and for the
first few runs of each procedure its title, date, status, seed, bench and key parameters and its figures
at page width (:mod:`tspcm_lab.analysis.plots`, every procedure has one): I-V with Vth/Vhold found with
the run's own settings, plasticity with the NeuroSim fit, threshold or firing versus conductance, the
learning curve with the forgetting and the savings, the pattern's accuracy and maps after every epoch,
drift on log-log axes, the endurance window against cycle, delay against amplitude and the recovery.
Each figure is an ``<img class="figure" data-procedure="...">`` (the browser test counts them).
"""

from __future__ import annotations

import html
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from tspcm_lab.analysis.features import ANALYSIS_VERSION
from tspcm_lab.keyfigures import yes_no_figures

_CSS = """body{font-family:sans-serif;margin:2em auto;max-width:1100px;padding:0 1em}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#eee}td.l{text-align:left}img.figure{width:100%;height:auto;display:block;margin:6px 0}
.err{color:#a00}h2{border-bottom:1px solid #888}.meta{color:#333;font-size:13px;margin:2px 0 6px 0}"""


def _img(fig, procedure: str = "", alt: str = "figure") -> str:
    from tspcm_lab.analysis.plots import to_png_base64

    return (
        f'<img class="figure" data-procedure="{html.escape(procedure)}" alt="{html.escape(alt)}" '
        f'src="data:image/png;base64,{to_png_base64(fig)}">'
    )


def _units(series) -> str:
    units = series.iloc[0] if len(series) else ""
    return "" if not isinstance(units, str) else units


def _stats_table(rows: pd.DataFrame, yes_no: Collection[str] = ()) -> str:
    """Per feature over the runs: n, mean, sigma (a dash for one run), min, max, with SI prefixes. A yes/no
    feature (``yes_no``: :func:`tspcm_lab.keyfigures.yes_no_figures`) is counted instead, "k of n yes" in
    the mean's column: its mean would be a share printed as a number with units."""
    from tspcm_lab.si import MISSING, format_si

    out = [
        "<table><tr><th>feature</th><th>n</th><th>mean</th><th>sigma</th><th>min</th>"
        "<th>max</th><th>criterion</th></tr>"
    ]
    for feat, g in rows.groupby("feature", sort=True):
        v = g["value"].to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        units = _units(g["units"])
        if feat in yes_no:
            cells = [f"{np.count_nonzero(v)} of {v.size} yes", MISSING, MISSING, MISSING]
        else:
            stats = (v.mean(), v.std(ddof=1) if v.size > 1 else np.nan, v.min(), v.max()) if v.size else (np.nan,) * 4
            cells = [format_si(x, units) if np.isfinite(x) else MISSING for x in stats]
        out.append(
            f"<tr><td class=l>{html.escape(feat)}</td><td>{v.size}</td>"
            + "".join(f"<td>{html.escape(c)}</td>" for c in cells)
            + f"<td class=l>{html.escape(str(g['criterion'].iloc[0]))}</td></tr>"
        )
    out.append("</table>")
    return "\n".join(out)


def _run_meta(run) -> str:
    """Title, seed, date, bench and key parameters of a run (one line, SI prefixes)."""
    bench = run.bench.get("bench", "")
    bench = bench.get("name", "") if isinstance(bench, dict) else bench
    parts = [
        f"<b>{html.escape(run.title or run.procedure)}</b>",
        f"started {html.escape(run.start_time[:19])}",
        f"status {html.escape(run.status)}",
        f"seed {run.seed}" if run.seed is not None else "",
        f"bench: {html.escape(str(bench))}" if bench else "",
        f"key parameters: {html.escape(run.key_parameter_text())}",
    ]
    return "<p class=meta>" + " &middot; ".join(p for p in parts if p) + "</p>"


def write_report(
    files,
    out_dir,
    *,
    table: pd.DataFrame | None = None,
    errors=(),
    max_per_procedure: int = 3,
    title: str = "tspcm analysis report",
) -> Path:
    """Write ``out_dir/report.html`` for the run ``files`` and return its path.

    ``table`` is the batch's summary table (computed without writing back when None); ``errors`` the
    (path, message) pairs of files that failed; ``max_per_procedure`` runs of each procedure get figures.
    """
    from tspcm_lab.analysis import plots
    from tspcm_lab.analysis.batch import analyze_paths
    from tspcm_lab.store.reader import open_run

    files = [str(f) for f in files]
    if table is None:
        res = analyze_paths(files, write=False, progress=False)
        table, errors = res.table, res.errors
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>",
        f"<p>{len(files)} files, {table['path'].nunique()} analysed, {len(errors)} failed; "
        f"{len(table)} features. Generated {now} by tspcm-lab analysis {html.escape(ANALYSIS_VERSION)}. "
        f"Definitions: docs/analysis.md.</p>",
    ]
    if errors:
        parts.append("<h2>Files that failed</h2><ul>")
        parts += [f"<li class=err>{html.escape(p)}: {html.escape(m)}</li>" for p, m in errors]
        parts.append("</ul>")

    # Vth distributions: per cycle over every I-V run, and the per-run means
    # each run file is opened once (its metadata read and checksummed once): the Vth pooling and the
    # figures below share it
    runs: dict[str, object] = {}

    def run_of(p: str):
        if p not in runs:
            try:
                runs[p] = open_run(p)
            except Exception as exc:  # noqa: BLE001 - kept, so the figure section names the reason
                runs[p] = exc
        if isinstance(runs[p], Exception):
            raise runs[p]
        return runs[p]

    iv_paths = sorted(table.loc[table["procedure"] == "iv-sweep", "path"].unique())
    per_cycle = []
    for p in iv_paths:
        try:
            iv = run_of(p).analysis.get("iv-sweep", {})
        except Exception:
            continue
        vals = iv.get("values", {})
        crit = str(iv.get("threshold_criterion", "jump"))
        pol = np.asarray(vals.get("polarity", []))
        vth = np.asarray(vals.get(f"vth_V_{crit}", vals.get("vth_V_jump", [])), dtype=float)
        if vth.size and pol.size == vth.size:
            per_cycle.append(vth[pol > 0] if np.any(pol > 0) else vth)
    if iv_paths:
        parts.append("<h2>Threshold distributions</h2>")
        if per_cycle:
            parts.append(
                _img(
                    plots.distribution_figure(np.concatenate(per_cycle), "Vth (V)", "Vth per cycle, all I-V runs"),
                    "iv-sweep",
                    "Vth per cycle",
                )
            )
        means = table.query("feature == 'vth_mean_V'")["value"]
        if len(means) > 1:
            parts.append(
                _img(
                    plots.distribution_figure(means, "mean Vth per run (V)", "Vth device-to-device"),
                    "iv-sweep",
                    "Vth per run",
                )
            )

    for proc, rows in table.groupby("procedure", sort=True):
        parts.append(f"<h2>{html.escape(proc)} ({rows['path'].nunique()} runs)</h2>")
        parts.append(_stats_table(rows, yes_no_figures(str(proc))))
        for p in sorted(rows["path"].unique())[:max_per_procedure]:
            try:
                run = run_of(p)
                meta = _run_meta(run)
                figs = plots.plot_run(run)
            except Exception as exc:  # a figure must not sink the report
                parts.append(f"<p class=err>{html.escape(p)}: no figure ({html.escape(str(exc))})</p>")
                continue
            parts.append(
                f"<h3>{html.escape(Path(p).name)}</h3>"
                + meta
                + "".join(_img(f, str(proc), f"{proc}: {Path(p).name}") for f in figs)
            )
    parts.append("</body></html>")
    path = out_dir / "report.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
