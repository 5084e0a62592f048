"""Figures and the self-contained HTML report."""

import base64
import re

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from procedures.library import switching
from tspcm_lab.analysis import plots
from tspcm_lab.analysis.synthetic import staircase, ts_iv
from tspcm_lab.cli import main
from tspcm_lab.store.reader import open_run

PNG = b"\x89PNG\r\n\x1a\n"


def test_iv_figure_marks_vth_and_vhold_on_device_voltage():
    v, c = staircase(2.0, 0.02)
    i = ts_iv(v)
    res = switching.analyze_sweep(v, i, c, series_resistance_ohm=1e4)
    fig = plots.iv_figure(v, i, res, c, series_resistance_ohm=1e4)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    marks = {ln.get_marker(): ln.get_xdata()[0] for ln in ax.lines if len(ln.get_xdata()) == 1}
    assert marks["^"] == res[0].vth_V and marks["v"] == res[0].vhold_V
    # the plotted curve is the series-corrected device voltage
    assert np.allclose(ax.lines[0].get_xdata(), v - i * 1e4)
    assert base64.b64decode(plots.to_png_base64(fig)).startswith(PNG)


def test_every_procedure_gives_a_figure(example_runs):
    assert set(plots.RUN_PLOTTERS) == set(example_runs)  # every procedure has its figures
    for proc in plots.RUN_PLOTTERS:
        figs = plots.plot_run(open_run(example_runs[proc]))
        assert figs and all(f.axes for f in figs), proc


@pytest.mark.slow
def test_cli_report_is_one_self_contained_file(example_runs, tmp_path):
    folder = example_runs["iv-sweep"].parent
    assert main(["analyze", str(folder), "--workers", "1", "--quiet", "--report", str(tmp_path / "rep")]) == 0
    files = list((tmp_path / "rep").iterdir())
    assert [f.name for f in files] == ["report.html"]
    text = files[0].read_text()
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    # Vth distribution + at least one figure for each procedure
    assert len(images) >= 1 + len(example_runs) and all(base64.b64decode(b).startswith(PNG) for b in images)
    assert not re.search(r'src="(?!data:)', text)
    for proc in ("iv-sweep", "pulse-train", "pattern", "retention"):
        assert f"<h2>{proc} (1 runs)</h2>" in text
    assert "vth_mean_V" in text and "Threshold distributions" in text


def test_recovery_figure_shows_the_recovery_the_analysis_reports(tmp_path):
    """A run with three probe fractions: the figure's fit is the analysis's (tau from the probes' 1/2
    crossings), not a second fit of its own; the crossings it marks are the ones the fit used."""
    from tspcm_lab.analysis.runs import analyze_delay_recovery_run
    from tspcm_lab.store.writer import RunWriter

    tau, start = 300e-9, 0.46
    interval = np.geomspace(40e-9, 3.2e-6, 25)
    cols: dict[str, list[float]] = {k: [] for k in ("Voltage (V)", "Delay (s)", "Interval (s)", "Firing probability")}
    cols["Probe fraction"] = []
    for f in (0.6, 0.75, 0.9):
        t_f = tau * (np.log(1 - start) - np.log(1 - f))
        for t in interval:  # falls from 1 to 0 over a factor 2 around t_f, log-linear: the crossing is t_f
            p = float(np.clip(0.5 - np.log(t / t_f) / np.log(4.0), 0.0, 1.0))
            for k, v in zip(cols, (f * 1.2, np.nan, t, p, f)):
                cols[k].append(v)
    w = RunWriter.create(
        tmp_path / "dr.h5", parameters={}, columns=list(cols), procedure_name="delay-recovery", live=False
    )
    w.append_columns({k: np.asarray(v) for k, v in cols.items()})
    w.close()
    run = open_run(tmp_path / "dr.h5")
    reported = {f.name: f.value for f in analyze_delay_recovery_run(run).features}["recovery_tau_s"]
    assert reported == pytest.approx(tau, rel=0.01)
    (fig,) = plots.plot_run(run)
    ax = fig.axes[1]
    assert f"tau = {1e9 * reported:.0f} ns" in ax.get_title()
    assert len([ln for ln in ax.lines if ln.get_label().startswith("probe")]) == 3
    crosses = sorted(ln.get_xdata()[0] for ln in ax.lines if ln.get_marker() == "x" and len(ln.get_xdata()) == 1)
    expected = [tau * (np.log(1 - start) - np.log(1 - f)) for f in (0.6, 0.75, 0.9)]
    assert crosses == pytest.approx(expected, rel=0.02)


def test_learning_figure_legend_leaves_the_forgetting_mark_visible():
    """A short retraining (the demo's pattern run: 44 epochs, then 3) puts the forgetting's line and label in the
    lower right corner, where a fixed legend hid them."""
    first, retrain = np.arange(44.0), np.arange(3.0)
    accuracy = np.r_[np.linspace(0.5, 0.94, 43), 1.0, 0.62, 0.88, 1.0]
    stage = np.r_[np.zeros(first.size), np.ones(retrain.size)]
    fig = plots.learning_figure(stage, np.r_[first, retrain], accuracy, 1.0, counts=(44, 3), savings=0.93)
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    ax = fig.axes[0]
    (mark,) = [t for t in ax.texts if t.get_text() == "forgetting"]
    legend = ax.get_legend().get_window_extent(renderer)
    assert not legend.overlaps(mark.get_window_extent(renderer))


# ------------------------------------------------------------- the report's figures: drawn in less time, the same
def _pixels(png_base64: str) -> np.ndarray:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(base64.b64decode(png_base64))) as im:
        return np.asarray(im.convert("RGBA"))


def test_report_png_has_the_pixels_savefig_writes():
    """The report's PNG of a figure is pixel for pixel what matplotlib's savefig writes for it, with the figure's
    dpi recorded (savefig's is RGBA, every pixel opaque; the report's RGB)."""
    import io

    from PIL import Image

    stage = np.r_[np.zeros(20), np.ones(5)]
    fig = plots.learning_figure(stage, np.r_[np.arange(20.0), np.arange(5.0)], np.linspace(0, 1, 25), 0.9, (20, 5))
    png = plots.to_png_base64(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    with Image.open(io.BytesIO(base64.b64decode(png))) as im:
        assert round(im.info["dpi"][0]) == fig.dpi
    assert np.array_equal(_pixels(png), _pixels(base64.b64encode(buf.getvalue()).decode()))


SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _drawn_ticks(axis, minor: bool) -> list[tuple[float, str]]:
    """[(location, label)] of the ticks an axis draws: its locator's locations inside the view (log axis),
    labelled by its formatter."""
    locs = np.asarray(axis.get_ticklocs(minor=minor))
    labels = (axis.get_minor_formatter() if minor else axis.get_major_formatter()).format_ticks(locs)
    lo, hi = np.log10(sorted(axis.get_view_interval()))
    return [(loc, text) for loc, text in zip(locs, labels) if lo - 1e-9 <= np.log10(loc) <= hi + 1e-9]


@pytest.mark.parametrize("r_range", [(3e-9, 2e-4), (1.5e-3, 8e-3)], ids=["decades", "less than a decade"])
def test_log_axes_have_matplotlibs_ticks_with_plain_text_labels(r_range):
    """A report figure on log axes against the same figure with matplotlib's log-scale defaults: the same ticks
    drawn (major and minor), labelled with the same numbers, written 10⁻⁶ or 2×10⁻³ in plain text (not mathtext),
    and inside the axes every pixel the same."""
    from matplotlib.ticker import LogFormatterSciNotation

    t, r = np.geomspace(1.0, 3e3, 30), np.geomspace(*r_range, 30)
    ours = plots.drift_figure(np.zeros(30), t, r, {})
    theirs = plots.drift_figure(np.zeros(30), t, r, {})
    theirs.axes[0].set_xscale("log")  # matplotlib's own locators and formatters again
    theirs.axes[0].set_yscale("log")
    assert type(theirs.axes[0].yaxis.get_major_formatter()) is LogFormatterSciNotation
    pixels = [_pixels(plots.to_png_base64(fig)) for fig in (ours, theirs)]
    a, b = ours.axes[0], theirs.axes[0]
    assert a.get_xlim() == b.get_xlim() and a.get_ylim() == b.get_ylim()
    labelled = []
    for mine, reference in ((a.xaxis, b.xaxis), (a.yaxis, b.yaxis)):
        for minor in (False, True):
            drawn, expected = _drawn_ticks(mine, minor), _drawn_ticks(reference, minor)
            assert [loc for loc, _ in drawn] == [loc for loc, _ in expected]
            for (loc, text), (_, math_text) in zip(drawn, expected):
                assert bool(text) == bool(math_text)
                if text:
                    exponent = int(np.floor(np.log10(loc) + 1e-9))
                    coeff = round(loc / 10.0**exponent)
                    number = "10" + str(exponent).translate(SUPERSCRIPT)
                    assert text == (number if coeff == 1 else f"{coeff}×{number}"), math_text
                    labelled.append(text)
    assert labelled and not any("$" in text for text in labelled)
    if r_range[1] / r_range[0] < 10:  # less than a decade: matplotlib labels minor ticks too (2×10⁻³ ...)
        assert any("×" in text for _, text in _drawn_ticks(a.yaxis, True))
    x0, y0, x1, y1 = a.get_window_extent().extents.round().astype(int)
    height = pixels[0].shape[0]
    inside = np.s_[height - y1 + 3 : height - y0 - 3, x0 + 3 : x1 - 3]
    assert np.array_equal(pixels[0][inside], pixels[1][inside])


def test_pattern_maps_colour_each_cell_by_its_log_conductance():
    """Sampled in the drawn PNG: a cell's colour is viridis at its log10 G between the smallest and the largest
    conductance of all maps (the colour bar's range); a cell that read below range (NaN) is white."""
    import matplotlib

    maps = np.array([[[1e-6, 1e-5], [1e-4, np.nan]], [[3e-6, 3e-5], [1e-3, 2e-4]]])
    fig = plots.pattern_figure(maps, stage=[0, 1], epoch=[1, 1], accuracy=[0.5, 1.0])
    img = _pixels(plots.to_png_base64(fig))
    ax = fig.axes[0]
    lo, hi = -6.0, -3.0
    for tile, title in enumerate(("train 1 50%", "retrain 1 100%")):
        (text,) = [t for t in ax.texts if t.get_text() == title]
        tx, ty = text.get_position()
        x0, y0 = tx - 1.0, ty + 0.25  # the title sits centred, 0.25 cells above its 2x2 tile
        for r in range(2):
            for c in range(2):
                px, py = ax.transData.transform((x0 + c + 0.5, y0 + r + 0.5))
                colour = img[img.shape[0] - int(py), int(px), :3].astype(int)
                g = maps[tile, r, c]
                if np.isnan(g):
                    assert colour.tolist() == [255, 255, 255]
                else:
                    want = np.array(matplotlib.colormaps["viridis"]((np.log10(g) - lo) / (hi - lo))[:3]) * 255
                    assert np.abs(colour - want).max() <= 2, (tile, r, c)
    assert fig.axes[1].get_ylim() == pytest.approx((lo, hi))  # the colour bar's range


@pytest.mark.slow
def test_analyze_report_freezes_matplotlib_only_in_tspcms_own_process(example_runs, tmp_path):
    """`tspcm analyze --report` as its process's command line imports matplotlib (and the analyses' scipy) kept
    from the collector and frozen (tspcm_lab.startup), so the report's figures do not trigger full collections
    over them; called in-process (cli.main from other code) it leaves the collector alone."""
    import gc
    import subprocess
    import sys

    folder = str(example_runs["iv-sweep"].parent)
    frozen = gc.get_freeze_count()
    assert main(["analyze", folder, "--workers", "1", "--quiet", "--no-write", "--report", str(tmp_path / "a")]) == 0
    assert gc.isenabled() and gc.get_freeze_count() == frozen

    child = (
        "import gc\nfrom tspcm_lab.cli import main\ncode = main()\nimport matplotlib.figure\n"
        "print('RESULT', code, gc.isenabled(), not any(o is matplotlib.figure.Figure for o in gc.get_objects()))"
    )
    argv = ["analyze", folder, "--workers", "1", "--quiet", "--no-write", "--report", str(tmp_path / "b")]
    done = subprocess.run([sys.executable, "-c", child, *argv], capture_output=True, text=True, timeout=300)
    assert done.stdout.splitlines()[-1] == "RESULT 0 True True", done.stdout + done.stderr


def test_report_counts_a_yes_no_figure_instead_of_averaging_it(batch_folder, tmp_path):
    """ "first training reached the criterion" is a yes/no figure: the report's statistics say "k of n yes",
    not a mean with a sigma (3 of 8 read as 0.375 before)."""
    from tspcm_lab.analysis.batch import analyze_paths
    from tspcm_lab.report import write_report
    from tspcm_lab.si import MISSING

    files = sorted(str(p) for p in batch_folder.rglob("run*.h5"))
    result = analyze_paths(files, write=False, progress=False)
    table = result.table[result.table["procedure"] == "learning-loop"]
    reached = table.loc[table["feature"] == "first_reached", "value"].to_numpy(dtype=float)
    reached = reached[np.isfinite(reached)]  # as the report counts: runs with a value
    assert reached.size >= 5  # ten learning-loop runs in the batch folder
    text = write_report(table["path"].unique(), tmp_path, table=table, max_per_procedure=0).read_text()
    row = re.search(r"<tr><td class=l>first_reached</td><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td>", text)
    assert row is not None
    assert row.group(2) == f"{int(np.count_nonzero(reached))} of {reached.size} yes" and row.group(1) == str(
        reached.size
    )
    assert row.group(3) == MISSING  # no sigma for a count
    # a numeric figure of the same procedure keeps its mean with units
    assert re.search(r"<tr><td class=l>pulses_first</td><td>\d+</td><td>[0-9.]+", text)
