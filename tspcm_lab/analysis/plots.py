"""Figures of the extracted features (matplotlib, Agg backend: no display needed).

Array-level functions draw from plain arrays and extractor results; ``plot_run(run)`` draws the standard
figure of a run file for the procedures that have one (:data:`RUN_PLOTTERS`). Every function returns a
``matplotlib.figure.Figure`` built without pyplot, so nothing is kept in a global figure list.
"""

from __future__ import annotations

import base64
import io
import math

import matplotlib

matplotlib.use("Agg", force=False)
import numpy as np
from matplotlib.figure import Figure

from procedures.library import switching
from tspcm_lab.analysis import intrinsic, plasticity


def _fig(w=7.5, h=3.9, ncols=1, top_in=0.5):
    """A figure sized to the report's page width (~1000 px at 130 dpi), with fixed margins in inches
    (``top_in`` above the axes: room for a two-line title, or a suptitle over the titles) rather than
    a layout engine, which measures every tick label of every axes on each draw and cost most of the
    report's rendering time."""
    fig = Figure(figsize=(w, h), dpi=130)
    fig.subplots_adjust(left=0.85 / w, right=1 - 0.15 / w, bottom=0.55 / h, top=1 - top_in / h, wspace=0.28)
    if ncols == 1:
        return fig, fig.add_subplot()
    return fig, fig.subplots(1, ncols)


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


def plasticity_figure(result: plasticity.PlasticityResult, segments=(), title="Plasticity") -> Figure:
    """Conductance against pulse number per segment (dots) with the NeuroSim fits (lines), on a log axis
    when the conductances span more than a decade (a SET from the RESET state rises by orders of
    magnitude, and a linear axis shows only its last pulses); a fit is drawn where it is positive."""
    fig, ax = _fig()
    x0 = 0.0
    g_all = np.concatenate([np.asarray(s.conductance_S, dtype=float) for s in segments]) if segments else np.array([])
    g_pos = g_all[np.isfinite(g_all) & (g_all > 0)]
    log_y = g_pos.size > 1 and g_pos.max() > 10 * g_pos.min()
    for s in segments:
        ax.plot(x0 + s.pulse, s.conductance_S, ".", ms=3, color="C0" if s.phase > 0 else "C1", alpha=0.6)
        fit = result.phases.get(s.phase)
        if fit is not None:
            p = np.linspace(0, fit.fit.p_max, 100)
            g = fit.fit.conductance(p)
            ax.plot(x0 + fit.fit.p_offset + p, np.where(g > 0, g, np.nan) if log_y else g, "-", color="k", lw=0.8)
        x0 += s.pulse.max() + 1 if s.pulse.size else 0
    if log_y:
        ax.set_yscale("log")
    ax.plot([], [], ".", color="C0", label="SET (potentiation)")
    ax.plot([], [], ".", color="C1", label="RESET (depression)")
    ax.plot([], [], "k-", lw=0.8, label="NeuroSim fit")
    ax.legend(fontsize=7, loc="lower right")
    text = []
    for ph, name in ((plasticity.POTENTIATION, "A_p"), (plasticity.DEPRESSION, "A_d")):
        if ph in result.phases:
            f = result.phases[ph].fit
            text.append(f"{name} = {f.a:.3g} ± {f.a_stderr:.2g}")
    ax.set(xlabel="Pulse (cumulative)", ylabel="Conductance (S)")
    ax.set_title(title + "\n" + ", ".join(text), fontsize=9)
    return fig


def trend_figure(
    conductance_S, response, trend: intrinsic.Trend, ylabel="Threshold (V)", title="Threshold vs conductance"
) -> Figure:
    """Response against conductance (log axis) with the log10 fit and Spearman rho."""
    fig, ax = _fig()
    g = np.asarray(conductance_S, dtype=float)
    ax.semilogx(g, response, "o", ms=4)
    if np.isfinite(trend.log.slope) and np.any(g > 0):
        gg = np.logspace(np.log10(g[g > 0].min()), np.log10(g.max()), 50)
        ax.semilogx(gg, trend.log.intercept + trend.log.slope * np.log10(gg), "k-", lw=0.8)
    ax.set(
        xlabel="Conductance (S)",
        ylabel=ylabel,
        title=f"{title}  (rho = {trend.spearman_rho:.2f}, {trend.log.slope:.3g} per decade)",
    )
    return fig


def pattern_figure(maps_S, stage, epoch, accuracy=None, target=None) -> Figure:
    """The conductance map after every epoch (log10 colour scale), target pattern first: one mosaic in
    one axes (an image per map would be one axes per epoch, 50 of them after a 44-epoch training), each
    map framed and titled with its stage, epoch and accuracy; cells that read below range (NaN) are white."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    maps = np.asarray(maps_S, dtype=float)
    n_rows, n_cols = maps.shape[1:]
    n = maps.shape[0] + (target is not None)
    cols = min(n, 6)
    rows = int(np.ceil(n / cols))
    # tile k at (k // cols, k % cols) of a grid with a one-cell gap between tiles and 1.5 cells above each
    # tile for its title; the figure sized so that a cell is `cell_in` inches square, plus the colour bar
    pitch_r, pitch_c = n_rows + 1.5, n_cols + 1
    cell_in = 1.6 / pitch_c  # a tile 1.6 in wide, as many cells as it has
    width_cells, height_cells = cols * pitch_c, rows * pitch_r
    # axes and colour bar placed in inches: the axes spans exactly the tiles, so a cell stays square
    ax_w, ax_h = (width_cells - 0.8) * cell_in, (height_cells + 0.1) * cell_in
    w, h = 0.05 + ax_w + 1.15, ax_h + 0.1
    fig = Figure(figsize=(w, h), dpi=90)
    ax = fig.add_axes((0.05 / w, 0.05 / h, ax_w / w, ax_h / h))
    finite = maps[np.isfinite(maps) & (maps > 0)]
    vmin, vmax = (np.log10(finite.min()), np.log10(finite.max())) if finite.size else (0, 1)

    def corner(tile):  # the upper-left corner of tile ``tile`` (data coordinates: x, y)
        return (tile % cols) * pitch_c - 0.5, (tile // cols) * pitch_r + 1.0

    mosaic = np.full((int(np.ceil(height_cells)) * 2, width_cells * 2), np.nan)  # half-cell pixels
    k = int(target is not None)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log10(np.clip(maps, 10**vmin, None))
    texts = [(0, "target")] if target is not None else []
    for j in range(maps.shape[0]):
        x0, y0 = corner(k + j)
        r0, c0 = int(round(2 * (y0 + 0.5))), int(round(2 * (x0 + 0.5)))
        mosaic[r0 : r0 + 2 * n_rows, c0 : c0 + 2 * n_cols] = np.repeat(np.repeat(logs[j], 2, axis=0), 2, axis=1)
        acc = "" if accuracy is None else f" {100 * accuracy[j]:.0f}%"
        texts.append((k + j, f"{'train' if stage[j] == 0 else 'retrain'} {epoch[j]}{acc}"))
    extent = (-0.5, width_cells - 0.5, mosaic.shape[0] / 2 - 0.5, -0.5)
    im = ax.imshow(mosaic, vmin=vmin, vmax=vmax, cmap="viridis", interpolation="nearest", extent=extent)
    if target is not None:  # 1 = learned (bright), on its own 0..1 scale
        x0, y0 = corner(0)
        ax.imshow(
            np.asarray(target, float),
            cmap="viridis",
            vmin=0,
            vmax=1,
            interpolation="nearest",
            extent=(x0, x0 + n_cols, y0 + n_rows, y0),
        )
    frames = []
    for tile, text in texts:
        x0, y0 = corner(tile)
        frames.append(Rectangle((x0, y0), n_cols, n_rows))
        ax.text(x0 + n_cols / 2, y0 - 0.25, text, fontsize=8, ha="center", va="bottom")
    ax.add_collection(PatchCollection(frames, facecolor="none", edgecolor="k", linewidth=0.8))
    ax.set_xlim(-0.6, width_cells - 1.4)
    ax.set_ylim(height_cells - 0.4, -0.5)
    ax.set_axis_off()
    if maps.shape[0]:
        cax = fig.add_axes(((0.05 + ax_w + 0.15) / w, 0.15, 0.18 / w, 0.7))
        fig.colorbar(im, cax=cax, label="log10 G (S)")
    return fig


def distribution_figure(values, xlabel="Vth (V)", title="Distribution") -> Figure:
    """Histogram of ``values`` with mean, sigma and CV in the title."""
    fig, ax = _fig()
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    st = switching.summarize(x)
    ax.hist(x, bins=max(5, min(40, int(np.sqrt(max(x.size, 1))) * 2)), color="C0", alpha=0.8)
    ax.set(xlabel=xlabel, ylabel="count")
    ax.set_title(
        f"{title}\nn = {st.n}, mean = {st.mean:.4g}, sigma = {st.sigma:.3g}, CV = {100 * st.cv:.2g} %", fontsize=9
    )
    ax.ticklabel_format(axis="x", useOffset=False)
    return fig


def learning_figure(
    stage,
    pulse,
    probability,
    criterion,
    counts=(math.nan, math.nan),
    savings=math.nan,
    x_label="Pulses",
    y_label="Firing probability",
    title="Learning",
) -> Figure:
    """The learning curve: the response against pulses (or epochs) of the first training, then of the
    retraining after the forgetting (marked), the criterion as a line, counts and savings in the title."""
    fig, ax = _fig()
    stage, pulse, y = (np.asarray(a, dtype=float) for a in (stage, pulse, probability))
    offset = 0.0
    for s, name, color in ((0, "first training", "C0"), (1, "retraining", "C3")):
        sel = (stage == s) & np.isfinite(y)
        if not sel.any():
            continue
        x = pulse[sel] - np.nanmin(pulse[stage == s]) + offset
        if s == 1:
            ax.axvline(offset - 0.5, color="0.4", ls="--", lw=1)
            ax.annotate(
                "forgetting",
                (offset - 0.5, 0.02),
                xycoords=("data", "axes fraction"),
                rotation=90,
                fontsize=8,
                ha="right",
                va="bottom",
                color="0.3",
            )
        ax.plot(x, y[sel], "o-", ms=3, lw=1, color=color, label=name)
        offset = float(np.nanmax(x)) + 1
    if math.isfinite(criterion):
        ax.axhline(criterion, color="C3", ls=":", lw=1, label=f"criterion {criterion:g}")
    n0, n1 = counts
    parts = []
    if math.isfinite(n0):
        after = f"{n1:.0f}" if math.isfinite(n1) else "not reached" if np.any(stage == 1) else "-"
        parts.append(f"to criterion: {n0:.0f} first, {after} after forgetting")
    elif np.any(stage == 1):  # the analysis reports no retraining count then (first_reached 0)
        parts.append("the first training did not reach the criterion: no retraining or savings to read")
    if math.isfinite(savings):
        parts.append(f"savings {100 * savings:.0f} %")
    ax.set(xlabel=x_label + " (cumulative)", ylabel=y_label)
    ax.set_title(title + ("\n" + ", ".join(p for p in parts if p) if any(parts) else ""), fontsize=9)
    # "best" weighs the curves, the criterion and the forgetting's line: a short retraining puts that line (and
    # its label) in the lower right corner, where a fixed legend covered it
    ax.legend(fontsize=8, loc="best")
    return fig


def drift_figure(state, time_s, resistance_ohm, fits: dict, title="Drift") -> Figure:
    """R against t on log-log axes per state, with the fitted R0 t^nu and nu in the legend."""
    fig, ax = _fig()
    state, t, r = (np.asarray(a, dtype=float) for a in (state, time_s, resistance_ohm))
    for k, s in enumerate(sorted(np.unique(state[np.isfinite(state)]))):
        sel = (state == s) & (t > 0) & (r > 0)
        fit = fits.get(s)
        label = f"state {s:g}" + (f": nu = {fit.nu:.4f}" if fit is not None and math.isfinite(fit.nu) else "")
        ax.loglog(t[sel], r[sel], "o", ms=3, color=f"C{k}", label=label)
        if fit is not None and math.isfinite(fit.nu) and sel.any():
            tt = np.logspace(np.log10(t[sel].min()), np.log10(t[sel].max()), 50)
            ax.loglog(tt, fit.r0_ohm * tt**fit.nu, "-", lw=1, color=f"C{k}")
    ax.set(xlabel="Time since programming (s)", ylabel="Resistance (Ohm)", title=title)
    ax.legend(fontsize=8)
    return fig


def endurance_figure(
    cycle,
    set_state,
    reset_state,
    window,
    min_window: float,
    result=None,
    *,
    quantity="Threshold (V)",
    window_label="Threshold window V_T(RESET) - V_T(SET) (V)",
    log_y=False,
    title="Endurance",
) -> Figure:
    """The SET and RESET states and the window against cycle (log cycle axis, the first cycle drawn at
    1), the failure criterion as a line: thresholds and their difference (V) for the two-state
    threshold window, or resistances and their ratio (log axes)."""
    fig, (ax1, ax2) = _fig(ncols=2, top_in=0.8)
    c, s1, s2, w = (np.asarray(a, dtype=float) for a in (cycle, set_state, reset_state, window))
    x = np.maximum(c, 1)
    plot = ax1.loglog if log_y else ax1.semilogx
    plot(x, s1, "o-", ms=3, lw=1, label="after SET")
    plot(x, s2, "s-", ms=3, lw=1, label="after RESET")
    ax1.set(xlabel="Cycle", ylabel=quantity, title="States")
    ax1.legend(fontsize=8)
    (ax2.loglog if log_y else ax2.semilogx)(x, w, "o-", ms=3, lw=1, color="C2")
    if math.isfinite(min_window):
        ax2.axhline(min_window, color="C3", ls=":", lw=1, label=f"failure below {min_window:g}")
        ax2.legend(fontsize=8)
    text = ""
    if result is not None:
        text = f"window {result.first_window:.3g} -> {result.last_window:.3g}, min {result.min_window:.3g}"
    ax2.set(xlabel="Cycle", ylabel=window_label)
    ax2.set_title("Window" + (f"\n{text}" if text else ""), fontsize=9)
    fig.suptitle(title, fontsize=10)
    return fig


def delay_recovery_figure(
    voltage_V,
    delay_s,
    interval_s,
    probability,
    delay=None,
    recovery=None,
    title="Delay and recovery",
    fraction=None,
) -> Figure:
    """Left: switching delay against pulse amplitude (log delay) with t_d0 exp(-(V - Vth)/V0).
    Right: firing probability of the second pulse against the interval, with the recovery the analysis
    fits: with probe ``fraction`` (second-pulse amplitude / Vth, per row) one curve per probe, each probe's
    1/2 crossing and where ln(1 - f) = ln(1 - V_start/Vth) - t/tau puts it (a
    :class:`drift.ProbeRecovery`); with one probe level the exponential of a :class:`drift.RecoveryFit`."""
    fig, (ax1, ax2) = _fig(ncols=2, top_in=0.8)
    v, td = np.asarray(voltage_V, dtype=float), np.asarray(delay_s, dtype=float)
    sel = np.isfinite(v) & (td > 0)
    ax1.semilogy(v[sel], td[sel], "o", ms=3)
    if delay is not None and math.isfinite(delay.v0_V) and sel.any():
        vv = np.linspace(v[sel].min(), v[sel].max(), 50)
        ax1.semilogy(
            vv,
            delay.td0_s * np.exp(-(vv - delay.vth_V) / delay.v0_V),
            "k-",
            lw=1,
            label=f"V0 = {1e3 * delay.v0_V:.0f} mV, Vth = {delay.vth_V:.3f} V",
        )
        ax1.legend(fontsize=8)
    ax1.set(xlabel="Pulse amplitude (V)", ylabel="Switching delay (s)", title="Delay vs amplitude")
    dt, y = np.asarray(interval_s, dtype=float), np.asarray(probability, dtype=float)
    sel = np.isfinite(dt) & np.isfinite(y) & (dt > 0)
    if fraction is not None:
        _probe_recovery(ax2, np.asarray(fraction, dtype=float), dt, y, sel, recovery)
    else:
        ax2.semilogx(dt[sel], y[sel], "o", ms=3, color="C1")
    if fraction is None and recovery is not None and math.isfinite(recovery.tau_s) and sel.any():
        tt = np.logspace(np.log10(dt[sel].min()), np.log10(dt[sel].max()), 80)
        ax2.semilogx(
            tt,
            recovery.y_inf + (recovery.y0 - recovery.y_inf) * np.exp(-tt / recovery.tau_s),
            "k-",
            lw=1,
            label=f"tau = {1e9 * recovery.tau_s:.0f} ns",
        )
        ax2.legend(fontsize=8)
    ax2.set(xlabel="Interval between the pulses (s)", ylabel="Firing probability (2nd pulse)")
    if not ax2.get_title():
        ax2.set_title("Threshold recovery")
    fig.suptitle(title, fontsize=10)
    return fig


def _probe_recovery(ax, f, dt, y, sel, recovery) -> None:
    """One probability curve per probe fraction, its measured 1/2 crossing (open marker) and the crossing
    the fitted tau and V_start put it at (cross): the points the analysis fits, and how well it does."""
    levels = sorted({float(x) for x in f[sel & np.isfinite(f)]})
    fitted = recovery is not None and math.isfinite(recovery.tau_s)
    for k, lv in enumerate(levels):
        rows = sel & (f == lv)
        order = np.argsort(dt[rows])
        ax.semilogx(dt[rows][order], y[rows][order], "o-", ms=3, lw=0.8, color=f"C{k}", label=f"probe {lv:g} x Vth")
        if recovery is None:
            continue
        measured = dict(zip(recovery.fractions, recovery.crossing_s)).get(lv, math.nan)
        if math.isfinite(measured):
            ax.plot([measured], [0.5], "o", mfc="none", mec=f"C{k}", ms=8)
        if fitted and 0 < lv < 1 and recovery.v_start_fraction < lv:
            t_f = recovery.tau_s * (math.log(1 - recovery.v_start_fraction) - math.log(1 - lv))
            ax.plot([t_f], [0.5], "x", color=f"C{k}", ms=8, mew=1.5)
    ax.axhline(0.5, color="0.6", lw=0.6, ls=":")
    ax.legend(fontsize=7, loc="upper right")
    if fitted:
        ax.set_title(
            f"Threshold recovery\nfit (x): tau = {1e9 * recovery.tau_s:.0f} ns, "
            f"V_start = {recovery.v_start_fraction:.2f} x Vth",
            fontsize=9,
        )


# --------------------------------------------------------------------------------- figures of run files
def _iv_run(run):
    """I-V with Vth/Vhold extracted with the run's own settings (criterion, minimum jump, compliance,
    series resistance), as ``tspcm analyze`` does."""
    from tspcm_lab.analysis.runs import columns, iv_options

    c = columns(run, "iv-sweep", ["Cycle", "Voltage (V)", "Current (A)"])
    kw, crit = iv_options(run)
    res = switching.analyze_sweep(c["Voltage (V)"], c["Current (A)"], c["Cycle"], criterion=crit, **kw)
    return [
        iv_figure(
            c["Voltage (V)"],
            c["Current (A)"],
            res,
            c["Cycle"],
            title=f"I-V: {run.path.name}",
            series_resistance_ohm=kw["series_resistance_ohm"],
        )
    ]


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
    return [
        trend_figure(c["Conductance (S)"], c["Firing probability"], t, ylabel="Firing probability", title=run.path.name)
    ]


def _pattern_run(run):
    from tspcm_lab.analysis import learning
    from tspcm_lab.analysis.runs import columns, float_param, param, pattern_maps

    c = columns(run, "pattern", ["Stage", "Epoch", "Row", "Column", "Conductance (S)"])
    target = learning.parse_pattern(str(param(run, ("pattern",), "")))
    stage, epoch, maps = pattern_maps(c, target.shape)
    thr = float_param(run, ("read_threshold_S",), None)
    thr = learning.default_threshold(maps) if thr is None else thr
    acc = learning.accuracy_per_epoch(maps, target, thr)
    from tspcm_lab.analysis.runs import analyze_pattern_run

    f = {x.name: x.value for x in analyze_pattern_run(run).features}
    return [_pattern_learning(run, acc, stage, epoch, f), pattern_figure(maps, stage, epoch, acc, target)]


def _learning_run(run):
    from tspcm_lab.analysis.runs import analyze_learning_loop_run, columns, float_param

    c = columns(run, "learning-loop", ["Stage", "Pulse", "Firing probability"])
    f = {x.name: x.value for x in analyze_learning_loop_run(run).features}
    return [
        learning_figure(
            c["Stage"],
            c["Pulse"],
            c["Firing probability"],
            float_param(run, ("criterion_probability",), 0.9),
            (f["pulses_first"], f["pulses_retrain"]),
            f["savings"],
            title=run.path.name,
        )
    ]


def _pattern_learning(run, acc, stage, epoch, f):
    from tspcm_lab.analysis.runs import float_param

    return learning_figure(
        stage,
        epoch,
        acc,
        float_param(run, ("accuracy_criterion",), 1.0),
        (f["epochs_first"], f["epochs_retrain"]),
        f["savings"],
        x_label="Epochs",
        y_label="Pattern accuracy",
        title=f"{run.path.name}: accuracy per epoch",
    )


def _retention_run(run):
    from tspcm_lab.analysis import drift
    from tspcm_lab.analysis.runs import columns

    c = columns(run, "retention", ["State", "Time (s)", "Resistance (Ohm)"])
    fits = drift.drift_per_state(c["State"], c["Time (s)"], c["Resistance (Ohm)"])
    return [drift_figure(c["State"], c["Time (s)"], c["Resistance (Ohm)"], fits, title=f"Drift: {run.path.name}")]


def _endurance_run(run):
    """The threshold window (runs of the v2 cell), or the resistance window (runs of the first model)."""
    from tspcm_lab.analysis import drift
    from tspcm_lab.analysis.runs import columns, float_param

    title = f"Endurance: {run.path.name}"
    if "Threshold window (V)" in run.columns:
        c = columns(run, "endurance", ["Cycle", "Threshold SET (V)", "Threshold RESET (V)", "Threshold window (V)"])
        mw = float_param(run, ("min_window_V",), 0.1)
        e = drift.threshold_window(c["Cycle"], c["Threshold window (V)"], mw)
        return [
            endurance_figure(
                c["Cycle"],
                c["Threshold SET (V)"],
                c["Threshold RESET (V)"],
                c["Threshold window (V)"],
                mw,
                e,
                title=title,
            )
        ]
    c = columns(run, "endurance", ["Cycle", "Resistance SET (Ohm)", "Resistance RESET (Ohm)"])
    mw = float_param(run, ("min_window",), 10.0)
    e = drift.endurance_window(c["Cycle"], c["Resistance SET (Ohm)"], c["Resistance RESET (Ohm)"], mw)
    return [
        endurance_figure(
            c["Cycle"],
            c["Resistance SET (Ohm)"],
            c["Resistance RESET (Ohm)"],
            c["Resistance RESET (Ohm)"] / c["Resistance SET (Ohm)"],
            mw,
            e,
            quantity="Resistance (Ohm)",
            window_label="Window R_RESET / R_SET",
            log_y=True,
            title=title,
        )
    ]


def _delay_recovery_run(run):
    from tspcm_lab.analysis import drift
    from tspcm_lab.analysis.runs import analyze_delay_recovery_run, columns

    c = columns(
        run, "delay-recovery", ["Voltage (V)", "Delay (s)", "Interval (s)", "Firing probability"], ["Probe fraction"]
    )
    vth = analyze_delay_recovery_run(run).settings.get("vth_V", math.nan)
    d_rows = np.isfinite(c["Delay (s)"]) & ~np.isfinite(c["Interval (s)"])
    r_rows = np.isfinite(c["Interval (s)"])
    delay = recovery = fraction = None
    if np.count_nonzero(c["Delay (s)"][d_rows] > 0) >= 2 and math.isfinite(vth):
        delay = drift.delay_vs_overdrive(c["Voltage (V)"][d_rows], c["Delay (s)"][d_rows], vth)
    # the recovery the analysis reports (analyze_delay_recovery_run): from the probes' crossings when the run
    # has two or more probe fractions, else one exponential
    if "Probe fraction" in c and np.unique(c["Probe fraction"][r_rows & np.isfinite(c["Probe fraction"])]).size >= 2:
        fraction = c["Probe fraction"][r_rows]
        try:
            recovery = drift.recovery_from_probes(fraction, c["Interval (s)"][r_rows], c["Firing probability"][r_rows])
        except ValueError:  # fewer than two crossings: the curves without a fit
            recovery = None
    elif np.count_nonzero(r_rows) >= 4:
        recovery = drift.recovery_time(c["Interval (s)"][r_rows], c["Firing probability"][r_rows])
    return [
        delay_recovery_figure(
            c["Voltage (V)"][d_rows],
            c["Delay (s)"][d_rows],
            c["Interval (s)"][r_rows],
            c["Firing probability"][r_rows],
            delay,
            recovery,
            title=run.path.name,
            fraction=fraction,
        )
    ]


#: procedure short name -> function(run) -> [Figure, ...]
RUN_PLOTTERS = {
    "iv-sweep": _iv_run,
    "pulse-train": _pulse_run,
    "threshold-vs-weight": _tvw_run,
    "spike-train": _spike_run,
    "pattern": _pattern_run,
    "learning-loop": _learning_run,
    "retention": _retention_run,
    "endurance": _endurance_run,
    "delay-recovery": _delay_recovery_run,
}


def plot_run(run) -> list[Figure]:
    """The standard figures of a run file ([] when its procedure has none)."""
    func = RUN_PLOTTERS.get(run.procedure)
    return func(run) if func else []
