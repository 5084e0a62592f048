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
