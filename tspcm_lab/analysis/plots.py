"""Figures of the extracted features (matplotlib, Agg backend: no display needed).

Array-level functions draw from plain arrays and extractor results; ``plot_run(run)`` draws the standard
figure of a run file for the procedures that have one (:data:`RUN_PLOTTERS`). Every function returns a
``matplotlib.figure.Figure`` built without pyplot, so nothing is kept in a global figure list.
"""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg", force=False)
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from tspcm_lab.analysis import intrinsic, plasticity, switching  # noqa: E402


def _fig(w=5.5, h=3.8):
    fig = Figure(figsize=(w, h), dpi=90, layout="constrained")
    return fig, fig.add_subplot()


def to_png_base64(fig: Figure) -> str:
    """The figure as a base64-encoded PNG (for embedding in HTML)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def iv_figure(voltage_V, current_A, results=(), cycle=None, title="I-V", series_resistance_ohm=0.0) -> Figure:
    """|I| (log) against the device voltage V_app - I*R_s, one line per cycle; Vth (up triangles, at the
    last off-state point) and Vhold (down triangles, at the last on-state point) marked."""
    fig, ax = _fig()
    i_signed = np.asarray(current_A, dtype=float)
    v = switching.device_voltage(voltage_V, i_signed, series_resistance_ohm)
    i = np.abs(i_signed)
    labels = np.zeros(v.size, int) if cycle is None else np.asarray(cycle)
    for c in np.unique(labels):
        sel = labels == c
        ax.semilogy(v[sel], np.maximum(i[sel], switching.CURRENT_FLOOR_A), lw=0.8, alpha=0.7)
    for r in results:
        hold_i = max(r.down_events, key=lambda e: abs(e.size_decades)).current_before_A if r.down_events else np.nan
        for vv, ii, mk, col in ((r.vth_V, r.ioff_A, "^", "C3"), (r.vhold_V, hold_i, "v", "C2")):
            if np.isfinite(vv):
                ax.axvline(vv, color=col, lw=0.5, alpha=0.4)
                if np.isfinite(ii):
                    ax.plot([vv], [ii], mk, color=col)
    ax.plot([], [], "^", color="C3", label="Vth")
    ax.plot([], [], "v", color="C2", label="Vhold")
    xlabel = "Voltage (V)" if not series_resistance_ohm else f"Device voltage (V), R_s = {series_resistance_ohm:g} Ohm"
    ax.set(xlabel=xlabel, ylabel="|Current| (A)", title=title)
    ax.legend(loc="lower right", fontsize=8)
    return fig


def plasticity_figure(result: "plasticity.PlasticityResult", segments=(), title="Plasticity") -> Figure:
    """Conductance against pulse number per segment (dots) with the NeuroSim fits (lines)."""
    fig, ax = _fig()
    x0 = 0.0
    for s in segments:
        ax.plot(x0 + s.pulse, s.conductance_S, ".", ms=3, color="C0" if s.phase > 0 else "C1", alpha=0.6)
        fit = result.phases.get(s.phase)
        if fit is not None:
            p = np.linspace(0, fit.fit.p_max, 100)
            ax.plot(x0 + p, fit.fit.conductance(p), "-", color="k", lw=0.8)
        x0 += s.pulse.max() + 1 if s.pulse.size else 0
    text = []
    for ph, name in ((plasticity.POTENTIATION, "A_p"), (plasticity.DEPRESSION, "A_d")):
        if ph in result.phases:
            f = result.phases[ph].fit
            text.append(f"{name} = {f.a:.3g} ± {f.a_stderr:.2g}")
    ax.set(xlabel="Pulse (cumulative)", ylabel="Conductance (S)")
    ax.set_title(title + "\n" + ", ".join(text), fontsize=9)
    return fig


def trend_figure(conductance_S, response, trend: "intrinsic.Trend", ylabel="Threshold (V)",
                 title="Threshold vs conductance") -> Figure:
    """Response against conductance (log axis) with the log10 fit and Spearman rho."""
    fig, ax = _fig()
    g = np.asarray(conductance_S, dtype=float)
    ax.semilogx(g, response, "o", ms=4)
    if np.isfinite(trend.log.slope) and np.any(g > 0):
        gg = np.logspace(np.log10(g[g > 0].min()), np.log10(g.max()), 50)
        ax.semilogx(gg, trend.log.intercept + trend.log.slope * np.log10(gg), "k-", lw=0.8)
    ax.set(xlabel="Conductance (S)", ylabel=ylabel,
           title=f"{title}  (rho = {trend.spearman_rho:.2f}, {trend.log.slope:.3g} per decade)")
    return fig


def pattern_figure(maps_S, stage, epoch, accuracy=None, target=None) -> Figure:
    """The conductance map after every epoch (log10 colour scale), target pattern first."""
    maps = np.asarray(maps_S, dtype=float)
    n = maps.shape[0] + (target is not None)
    cols = min(n, 6)
    rows = int(np.ceil(n / cols))
    fig = Figure(figsize=(1.6 * cols + 0.6, 1.7 * rows + 0.3), dpi=90, layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    finite = maps[np.isfinite(maps) & (maps > 0)]
    vmin, vmax = (np.log10(finite.min()), np.log10(finite.max())) if finite.size else (0, 1)
    k = 0
    if target is not None:
        axes[0].imshow(np.asarray(target, float), cmap="viridis", vmin=0, vmax=1)  # 1 = learned (bright)
        axes[0].set_title("target", fontsize=8)
        k = 1
    im = None
    for j in range(maps.shape[0]):
        ax = axes[k + j]
        im = ax.imshow(np.log10(np.clip(maps[j], 10**vmin, None)), vmin=vmin, vmax=vmax, cmap="viridis")
        acc = "" if accuracy is None else f" {100 * accuracy[j]:.0f}%"
        ax.set_title(f"{'train' if stage[j] == 0 else 'retrain'} {epoch[j]}{acc}", fontsize=8)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[k + maps.shape[0]:]:
        ax.set_visible(False)
    if im is not None:
        fig.colorbar(im, ax=axes.tolist(), label="log10 G (S)", shrink=0.8)
    return fig


def distribution_figure(values, xlabel="Vth (V)", title="Distribution") -> Figure:
    """Histogram of ``values`` with mean, sigma and CV in the title."""
    fig, ax = _fig()
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    st = switching.summarize(x)
    ax.hist(x, bins=max(5, min(40, int(np.sqrt(max(x.size, 1))) * 2)), color="C0", alpha=0.8)
    ax.set(xlabel=xlabel, ylabel="count")
    ax.set_title(f"{title}\nn = {st.n}, mean = {st.mean:.4g}, sigma = {st.sigma:.3g}, CV = {100 * st.cv:.2g} %",
                 fontsize=9)
    ax.ticklabel_format(axis="x", useOffset=False)
    return fig


# --------------------------------------------------------------------------------- figures of run files
def _iv_run(run):
    from tspcm_lab.analysis.runs import columns, float_param

    c = columns(run, "iv-sweep", ["Cycle", "Voltage (V)", "Current (A)"])
    r_s = float_param(run, ("series_resistance_ohm", "series_resistance"), 0.0)
    res = switching.analyze_sweep(c["Voltage (V)"], c["Current (A)"], c["Cycle"], series_resistance_ohm=r_s)
    return [iv_figure(c["Voltage (V)"], c["Current (A)"], res, c["Cycle"], title=f"I-V: {run.path.name}",
                      series_resistance_ohm=r_s)]


def _pulse_run(run):
    from tspcm_lab.analysis.runs import columns

    c = columns(run, "pulse-train", ["Pulse", "Cycle", "Phase", "Conductance (S)"])
    segs = plasticity.split_segments(c["Pulse"], c["Conductance (S)"], c["Phase"], c["Cycle"])
    res = plasticity.analyze_plasticity(c["Pulse"], c["Conductance (S)"], c["Phase"], c["Cycle"])
    return [plasticity_figure(res, segs, title=f"{run.path.name}:")]


def _tvw_run(run):
    from tspcm_lab.analysis.runs import columns

    c = columns(run, "threshold-vs-weight", ["Conductance (S)", "Threshold (V)"])
    t = intrinsic.threshold_vs_conductance(c["Conductance (S)"], c["Threshold (V)"])
    return [trend_figure(c["Conductance (S)"], c["Threshold (V)"], t, title=run.path.name)]


def _spike_run(run):
    from tspcm_lab.analysis.runs import columns

    c = columns(run, "spike-train", ["Conductance (S)", "Firing probability"])
    t = intrinsic.firing_probability_vs_conductance(c["Conductance (S)"], c["Firing probability"])
    return [trend_figure(c["Conductance (S)"], c["Firing probability"], t, ylabel="Firing probability",
                         title=run.path.name)]


def _pattern_run(run):
    from tspcm_lab.analysis import learning
    from tspcm_lab.analysis.runs import columns, float_param, param, pattern_maps

    c = columns(run, "pattern", ["Stage", "Epoch", "Row", "Column", "Conductance (S)"])
    target = learning.parse_pattern(str(param(run, ("pattern",), "")))
    stage, epoch, maps = pattern_maps(c, target.shape)
    thr = float_param(run, ("read_threshold_S",), None)
    acc = learning.accuracy_per_epoch(maps, target, thr)
    return [pattern_figure(maps, stage, epoch, acc, target)]


#: procedure short name -> function(run) -> [Figure, ...]
RUN_PLOTTERS = {"iv-sweep": _iv_run, "pulse-train": _pulse_run, "threshold-vs-weight": _tvw_run,
                "spike-train": _spike_run, "pattern": _pattern_run}


def plot_run(run) -> list[Figure]:
    """The standard figures of a run file ([] when its procedure has none)."""
    func = RUN_PLOTTERS.get(run.procedure)
    return func(run) if func else []
