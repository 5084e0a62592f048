"""Run-level analyses: read a run file's columns and parameters, call the extractors, return a RunAnalysis.

One function per procedure, registered under the procedure's short name. The columns each expects (PyMeasure
labels, SI units) and the parameters each reads are listed in docs/analysis.md and repeated in each
function's docstring; a missing column raises :class:`ColumnError` naming the procedure, the column and the
columns the file has.

The extractor modules (drift, intrinsic, learning, plasticity) are imported by the functions that use them:
``tspcm run`` prints one run's key figures and pays for that procedure's extractors only.
"""

from __future__ import annotations

import math

import numpy as np

from procedures.library import switching
from tspcm_lab.analysis.features import Feature, RunAnalysis
from tspcm_lab.analysis.registry import register_analysis


class ColumnError(ValueError):
    """A run lacks a column its procedure's analysis needs."""


def columns(run, procedure: str, required, optional=()) -> dict[str, np.ndarray]:
    """{label: float array} of the required and present optional columns of ``run``."""
    data = run.columns
    missing = [c for c in required if c not in data]
    if missing:
        raise ColumnError(f"{procedure} run lacks column(s) {missing} (it has {sorted(data)}); see docs/analysis.md")
    return {k: np.asarray(data[k], dtype=float) for k in (*required, *optional) if k in data}


def param(run, keys, default=None):
    """The first of ``keys`` present in the run's parameters (its value), else ``default``."""
    for key in keys:
        record = run.parameters.get(key)
        if record is not None and record.value is not None and record.value != "":
            return record.value
    return default


def float_param(run, keys, default=None, *, name=None):
    value = param(run, keys, default)
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"parameter {name or keys[0]} must be a number, got {value!r}") from None


def _mean(x) -> float:
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else math.nan


# ---------------------------------------------------------------------------------------------- iv-sweep
_CRITERION_TEXT = {
    "jump": "largest step in log10|I| (>= {jump} decade), last point before it",
    "current": "|I| crossing {level:g} A",
    "slope": "largest dlog10|I|/d|V|, last point before it",
}


def iv_options(run) -> tuple[dict, str]:
    """(keyword arguments of ``switching.analyze_sweep``, criterion) from the run's own parameters:
    series resistance, compliance, current criterion, minimum jump (the figures use the same)."""
    r_s = float_param(run, ("series_resistance_ohm", "series_resistance"), 0.0)
    compliance = float_param(run, ("compliance_A", "compliance"), None)
    crit = str(param(run, ("threshold_criterion",), "jump"))
    level = float_param(run, ("current_criterion_A",), 1e-6)
    jump = float_param(run, ("min_jump_decades",), 1.0)
    return dict(
        series_resistance_ohm=r_s, compliance_A=compliance, current_criterion_A=level, min_jump_decades=jump
    ), crit


def _held_features(c, kw, head) -> list[Feature]:
    """The on branch's held segments (switching.held_on_state_fit): where the PCM's residual amorphous part is
    switched on and holds its own voltage, the slope is R_on + the PCM's crystalline part, without the amorphous
    part that the ohmic on branch (r_on_mean_ohm) carries. NaN when the sweep shows none."""
    later = head[1:] if len(head) > 1 else head
    vref = float(np.nanmedian([abs(r.vhold_fit_V) for r in later])) if later else math.nan
    least = np.array([r.r_on_ohm for r in later], float)
    least = float(np.nanmin(least)) if np.isfinite(least).any() else math.inf
    fit = None
    if math.isfinite(vref):
        fit = switching.held_on_state_fit(
            c["Voltage (V)"],
            c["Current (A)"],
            c["Cycle"],
            vhold_V=vref,
            series_resistance_ohm=kw["series_resistance_ohm"],
            compliance_A=kw["compliance_A"],
            least_ohmic_ohm=least,
        )
    method = (
        "switching.held_on_state_fit: on-branch segments whose line lies >= "
        f"{switching.HELD_OFFSET_MIN_V:g} V above the hold line (a switched amorphous PCM part holding its voltage), "
        "pooled into one line V_dev = V_held + R I"
    )
    nan = math.nan
    return [
        Feature("r_on_held_ohm", fit.slope_ohm if fit else nan, "Ohm", method + ": its slope, R_on + R_PCM,cryst", ""),
        Feature(
            "r_on_held_stderr_ohm",
            fit.slope_stderr_ohm if fit else nan,
            "Ohm",
            method + ": the slope's standard error",
            "",
        ),
        Feature(
            "vhold_held_V", fit.intercept_V if fit else nan, "V", method + ": its intercept, Vhold + the PCM's", ""
        ),
        Feature("held_points", float(fit.n_points) if fit else 0.0, "", method + ": points on it", ""),
    ]


@register_analysis("iv-sweep")
def analyze_iv_run(run) -> RunAnalysis:
    """Columns ``Cycle``, ``Voltage (V)`` (applied), ``Current (A)``; optional ``Device``.

    Parameters read: ``series_resistance_ohm`` (default 0), ``compliance_A``, ``threshold_criterion``
    (jump | current | slope, default jump), ``current_criterion_A`` (1e-6), ``min_jump_decades`` (1).
    Per-cycle Vth for all three criteria is written as arrays; the features use the chosen one, on the
    positive-polarity branches (the negative ones when the sweep has no positive branch).
    """
    c = columns(run, "iv-sweep", ["Cycle", "Voltage (V)", "Current (A)"], ["Device"])
    kw, crit = iv_options(run)
    r_s, level, jump = kw["series_resistance_ohm"], kw["current_criterion_A"], kw["min_jump_decades"]
    per_crit = {
        k: switching.analyze_sweep(c["Voltage (V)"], c["Current (A)"], c["Cycle"], criterion=k, **kw)
        for k in switching.CRITERIA
    }
    if crit not in per_crit:
        raise ValueError(f"parameter threshold_criterion must be one of {switching.CRITERIA}, got {crit!r}")
    res = per_crit[crit]
    pol = 1 if any(r.polarity > 0 for r in res) else -1
    head = [r for r in res if r.polarity == pol]
    vth = np.array([r.vth_V for r in head])
    vhold = np.array([r.vhold_V for r in head])
    vth2 = [r.up_events[1].voltage_V for r in head if len(r.up_events) > 1]
    ratio = np.array([r.on_off_ratio for r in head])
    crit_text = _CRITERION_TEXT[crit].format(jump=jump, level=level)
    method = f"switching.analyze_sweep, V_dev = V_app - I*R_s with R_s = {r_s:g} Ohm"
    s_th, s_ho = switching.summarize(vth), switching.summarize(vhold)
    feats = [
        Feature("vth_mean_V", s_th.mean, "V", method, crit_text),
        Feature("vth_sigma_V", s_th.sigma, "V", method + ", sample sigma over cycles", crit_text),
        Feature("vth_cv", s_th.cv, "", method + ", sigma/|mean|", crit_text),
        Feature(
            "vth_median_V",
            float(np.nanmedian(vth)) if np.isfinite(vth).any() else math.nan,
            "V",
            method + ", median over cycles (robust to a first cycle that SETs or forms the cell)",
            crit_text,
        ),
        Feature(
            "vth_trigger_mean_V",
            _mean([r.vth_V for r in per_crit["current"] if r.polarity == pol]),
            "V",
            method + ", trigger-level crossing (not the switching voltage: it moves with the series "
            "resistance and the state)",
            _CRITERION_TEXT["current"].format(level=level),
        ),
        Feature("vhold_mean_V", s_ho.mean, "V", method, crit_text),
        Feature("vhold_sigma_V", s_ho.sigma, "V", method + ", sample sigma over cycles", crit_text),
        Feature("vhold_cv", s_ho.cv, "", method + ", sigma/|mean|", crit_text),
        Feature(
            "on_off_ratio_median",
            float(np.nanmedian(ratio)) if np.isfinite(ratio).any() else math.nan,
            "",
            method + ", max |I| after / |I| before the largest up jump",
            "largest up-branch jump",
        ),
        Feature(
            "r_on_mean_ohm",
            _mean([r.r_on_ohm for r in head]),
            "Ohm",
            method + ", line V_dev = Vhold_fit + R_on*I on the down branch's on state",
            "compliance excluded",
        ),
        Feature(
            "hold_below_threshold_fraction",
            float(np.mean([r.hold_below_threshold for r in head])) if head else math.nan,
            "",
            "fraction of cycles with |Vhold| < |Vth|",
            crit_text,
        ),
        Feature("n_cycles", float(len(head)), "", "cycles analysed", f"polarity {pol:+d}"),
        Feature(
            "vth2_mean_V",
            _mean(vth2),
            "V",
            method + ", second up-branch event (stacked cell)",
            f"step in log10|I| >= {jump} decade",
        ),
    ]
    feats += _held_features(c, kw, head)
    if "Device" in c:
        dev = {int(cy): d for cy, d in zip(c["Cycle"], c["Device"])}
        var = switching.variability(vth, [dev.get(r.cycle, 0) for r in head])
        feats += [
            Feature("vth_c2c_sigma_V", var.c2c_sigma, "V", "pooled within-device sample sigma", crit_text),
            Feature("vth_d2d_sigma_V", var.d2d_sigma, "V", "sample sigma of per-device means", crit_text),
        ]
    arrays = {
        "cycle": ([r.cycle for r in res], ""),
        "polarity": ([r.polarity for r in res], ""),
        "vhold_fit_V": ([r.vhold_fit_V for r in res], "V"),
        "r_on_ohm": ([r.r_on_ohm for r in res], "Ohm"),
        "ion_A": ([r.ion_A for r in res], "A"),
        "ioff_A": ([r.ioff_A for r in res], "A"),
        "n_up_events": ([len(r.up_events) for r in res], ""),
    }
    for k, rr in per_crit.items():
        arrays[f"vth_V_{k}"] = ([r.vth_V for r in rr], "V")
        arrays[f"vhold_V_{k}"] = ([r.vhold_V for r in rr], "V")
    return RunAnalysis(
        "iv-sweep",
        feats,
        arrays,
        method,
        crit_text,
        {
            "series_resistance_ohm": r_s,
            "threshold_criterion": crit,
            "current_criterion_A": level,
            "min_jump_decades": jump,
        },
    )


# ---------------------------------------------------------------------------------------------- pulse-train
@register_analysis("pulse-train")
def analyze_pulse_train_run(run) -> RunAnalysis:
    """Columns ``Pulse``, ``Cycle``, ``Phase`` (+1 potentiation, -1 depression), ``Conductance (S)``.

    Parameter read: ``k_sigma`` (3), the separation defining distinguishable states.
    """
    from tspcm_lab.analysis import plasticity

    c = columns(run, "pulse-train", ["Pulse", "Cycle", "Phase", "Conductance (S)"])
    k = float_param(run, ("k_sigma",), 3.0)
    res = plasticity.analyze_plasticity(c["Pulse"], c["Conductance (S)"], c["Phase"], c["Cycle"], k_sigma=k)
    method = "plasticity.fit_neurosim: G = Gmin + B(1 - exp(-P/A)) (depression mirrored), curve_fit"
    feats, arrays = [], {}
    for ph, pre in ((plasticity.POTENTIATION, "p_"), (plasticity.DEPRESSION, "d_")):
        r = res.phases.get(ph)
        if r is None:
            continue
        f = r.fit
        noise = f"sigma from {r.sigma_source}"
        feats += [
            Feature(pre + "a_pulses", f.a, "", method, "least squares, all cycles pooled"),
            Feature(pre + "a_stderr_pulses", f.a_stderr, "", method + ", sqrt of covariance", ""),
            Feature(pre + "a_over_pmax", f.a_over_pmax, "", method, ""),
            Feature(pre + "gmin_S", f.g_min_S, "S", method, ""),
            Feature(pre + "gmax_S", f.g_max_S, "S", method, ""),
            Feature(pre + "dynamic_range", f.dynamic_range, "", "Gmax/Gmin of the fit", ""),
            Feature(pre + "fit_r2", f.r2, "", method, ""),
            Feature(
                pre + "states",
                float(r.states),
                "",
                "distinguishable states along the fit",
                f"levels >= {k:g} sigma apart, {noise}",
            ),
            Feature(
                pre + "sigma_percent_range",
                r.sigma_percent_of_range,
                "%",
                "cycle-to-cycle sigma / (Gmax - Gmin)",
                noise,
            ),
        ]
        arrays[pre + "a_per_cycle"] = ([cf.a for cf in r.cycle_fits], "")
    feats.append(Feature("asymmetry", res.asymmetry, "", "|A_p - A_d| / (A_p + A_d)", ""))
    return RunAnalysis("pulse-train", feats, arrays, method, "least squares", {"k_sigma": k})


# ---------------------------------------------------------------------------------------------- spike-train
@register_analysis("spike-train")
def analyze_spike_train_run(run) -> RunAnalysis:
    """Columns ``Train``, ``Conductance (S)``, ``Firing probability``; optional ``Firing rate (Hz)``."""
    from tspcm_lab.analysis import intrinsic

    c = columns(run, "spike-train", ["Train", "Conductance (S)", "Firing probability"], ["Firing rate (Hz)"])
    g = c["Conductance (S)"]
    tp = intrinsic.firing_probability_vs_conductance(g, c["Firing probability"])
    method = "intrinsic.response_vs_conductance: line against log10 G, Spearman rho"
    feats = [
        Feature("firing_probability_mean", _mean(c["Firing probability"]), "", "mean over trains", ""),
        Feature("probability_slope_per_decade", tp.log.slope, "", method, "per decade of conductance"),
        Feature("probability_spearman_rho", tp.spearman_rho, "", method, "monotonicity"),
    ]
    if "Firing rate (Hz)" in c:
        tr = intrinsic.firing_rate_vs_conductance(g, c["Firing rate (Hz)"])
        feats += [
            Feature("rate_slope_Hz_per_decade", tr.log.slope, "Hz/decade", method, "per decade of conductance"),
            Feature("rate_spearman_rho", tr.spearman_rho, "", method, "monotonicity"),
        ]
    return RunAnalysis("spike-train", feats, {}, method, "Spearman rank correlation")


# ---------------------------------------------------------------------------------------------- threshold-vs-weight
@register_analysis("threshold-vs-weight")
def analyze_threshold_vs_weight_run(run) -> RunAnalysis:
    """Columns ``State``, ``Conductance (S)``, ``Threshold (V)``."""
    from tspcm_lab.analysis import intrinsic

    c = columns(run, "threshold-vs-weight", ["State", "Conductance (S)", "Threshold (V)"], ["Converged"])
    t = intrinsic.threshold_vs_conductance(c["Conductance (S)"], c["Threshold (V)"])
    method = "intrinsic.threshold_vs_conductance"
    best = t.log if t.best_fit == "log" else t.linear
    feats = [
        Feature("threshold_mean_V", _mean(c["Threshold (V)"]), "V", "mean over the states and repeats", ""),
        Feature("threshold_slope_V_per_S", t.linear.slope, "V/S", method + ", line against G", "least squares"),
        Feature(
            "threshold_slope_V_per_decade",
            t.log.slope,
            "V/decade",
            method + ", line against log10 G",
            "per decade of conductance",
        ),
        Feature("threshold_spearman_rho", t.spearman_rho, "", method, "monotonicity"),
        Feature("threshold_spearman_p", t.spearman_p, "", method, "two-sided"),
        Feature("threshold_fit_r2", best.r2, "", method, f"best of linear/log: {t.best_fit}"),
        Feature("n_states", float(np.unique(c["State"]).size), "", "distinct states", ""),
    ]
    if "Converged" in c:  # the thresholds are read at the states the program-and-verify loop reached, or not
        reached = np.unique(c["State"][c["Converged"] > 0]).size
        feats.append(Feature("states_reached", float(reached), "", "states whose target was reached", ""))
    return RunAnalysis("threshold-vs-weight", feats, {}, method, "Spearman rank correlation")


# ---------------------------------------------------------------------------------------------- learning-loop
def _stage_counts(stage, count, metric, criterion):
    """(first_reached, N_first, N_retrain, savings) of a train-forget-retrain run.

    first_reached: 1 when the first training (stage 0) reached the criterion, 0 when it ended without (the
    procedure went on to stage 1: its trains ran out), NaN when the run ended during it (not known). N_retrain
    and savings only after a first training that reached the criterion: from an unlearned cell a "retraining"
    is a first training, and its count says nothing of what forgetting left (NaN, with first_reached 0).
    """
    from tspcm_lab.analysis import learning

    out = {}
    for s in (0, 1):
        sel = stage == s
        out[s] = learning.count_to_criterion(count[sel], metric[sel], criterion) if sel.any() else math.nan
    if math.isfinite(out[0]):
        reached = 1.0
    else:
        reached = 0.0 if np.any(stage == 1) else math.nan
        out[1] = math.nan
    sav = learning.savings(out[0], out[1]) if math.isfinite(out[0]) and out[0] > 0 else math.nan
    return reached, out[0], out[1], sav


#: the first-reached feature's method, and the criterion text the retraining's features add
REACHED_METHOD = "1: the first training reached the criterion; 0: it ended without; NaN: the run ended during it"
RETRAIN_ONLY = "; NaN unless the first training reached it (first_reached 1)"


@register_analysis("learning-loop")
def analyze_learning_loop_run(run) -> RunAnalysis:
    """Columns ``Stage`` (0 first training, 1 retraining), ``Pulse``, ``Firing probability``.

    Parameter read: ``criterion_probability`` (0.9): the firing probability that ends a training.
    """
    c = columns(run, "learning-loop", ["Stage", "Pulse", "Firing probability"])
    crit = float_param(run, ("criterion_probability",), 0.9)
    reached, n0, n1, sav = _stage_counts(c["Stage"], c["Pulse"], c["Firing probability"], crit)
    text = f"firing probability >= {crit:g}"
    feats = [
        Feature("first_reached", reached, "", REACHED_METHOD, text),
        Feature("pulses_first", n0, "", "learning.count_to_criterion, first training", text),
        Feature("pulses_retrain", n1, "", "learning.count_to_criterion, retraining", text + RETRAIN_ONLY),
        Feature("savings", sav, "", "(N_first - N_retrain) / N_first", text + RETRAIN_ONLY),
    ]
    return RunAnalysis("learning-loop", feats, {}, "learning.count_to_criterion", text, {"criterion_probability": crit})


# ---------------------------------------------------------------------------------------------- pattern
def pattern_maps(c, shape):
    """(stage, epoch, maps[n, rows, cols]) from the tidy Stage/Epoch/Row/Column/Conductance columns."""
    keys = np.stack([c["Stage"], c["Epoch"]], axis=1)
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    maps = np.full((len(uniq), *shape), np.nan)
    r = c["Row"].astype(int)
    col = c["Column"].astype(int)
    if r.min(initial=0) < 0 or col.min(initial=0) < 0 or r.max(initial=0) >= shape[0] or col.max(initial=0) >= shape[1]:
        raise ValueError(f"pattern run: Row/Column outside the pattern's {shape[0]} x {shape[1]} cells")
    maps[inv.ravel(), r, col] = c["Conductance (S)"]
    return uniq[:, 0].astype(int), uniq[:, 1].astype(int), maps


@register_analysis("pattern")
def analyze_pattern_run(run) -> RunAnalysis:
    """Columns ``Stage``, ``Epoch``, ``Row``, ``Column``, ``Conductance (S)`` (one row per cell per epoch).

    Parameters read: ``pattern`` (required, e.g. "1001/0110/0110/1001"), ``read_threshold_S`` (default
    sqrt(Gmin Gmax) over all maps), ``accuracy_criterion`` (1.0).
    """
    from tspcm_lab.analysis import learning

    c = columns(run, "pattern", ["Stage", "Epoch", "Row", "Column", "Conductance (S)"])
    text = param(run, ("pattern",), None)
    if text is None:
        raise ValueError("pattern run has no 'pattern' parameter: the target pattern is needed")
    target = learning.parse_pattern(str(text))
    stage, epoch, maps = pattern_maps(c, target.shape)
    thr = float_param(run, ("read_threshold_S",), None)
    thr = learning.default_threshold(maps) if thr is None else thr
    acc = learning.accuracy_per_epoch(maps, target, thr)
    crit = float_param(run, ("accuracy_criterion",), 1.0)
    reached, n0, n1, sav = _stage_counts(stage, epoch.astype(float), acc, crit - 1e-12)
    crit_text = f"accuracy >= {crit:g}, read threshold {thr:.3g} S"
    feats = [
        Feature("first_reached", reached, "", REACHED_METHOD, crit_text),
        Feature("epochs_first", n0, "", "learning.count_to_criterion on accuracy per epoch", crit_text),
        Feature(
            "epochs_retrain", n1, "", "learning.count_to_criterion on accuracy per epoch", crit_text + RETRAIN_ONLY
        ),
        Feature("savings", sav, "", "(N_first - N_retrain) / N_first", crit_text + RETRAIN_ONLY),
        Feature("final_accuracy", float(acc[-1]) if acc.size else math.nan, "", "learning.pattern_accuracy", crit_text),
    ]
    arrays = {
        "stage": (stage, ""),
        "epoch": (epoch, ""),
        "accuracy": (acc, ""),
        "maps_S": (maps, "S"),
        "target": (target.astype(np.int8), ""),
    }
    return RunAnalysis(
        "pattern",
        feats,
        arrays,
        "learning.accuracy_per_epoch",
        crit_text,
        {"read_threshold_S": thr, "accuracy_criterion": crit, "pattern": str(text)},
    )


# ---------------------------------------------------------------------------------------------- retention
@register_analysis("retention")
def analyze_retention_run(run) -> RunAnalysis:
    """Columns ``State``, ``Time (s)``, ``Resistance (Ohm)``; features per state label k."""
    from tspcm_lab.analysis import drift

    c = columns(run, "retention", ["State", "Time (s)", "Resistance (Ohm)"])
    per = drift.drift_per_state(c["State"], c["Time (s)"], c["Resistance (Ohm)"])
    method = "drift.drift_exponent: line of log10 R against log10 t"
    feats, states = [], sorted(per)
    for s in states:
        d, k = per[s], f"state{int(s) if float(s).is_integer() else s}"
        feats += [
            Feature(f"nu_{k}", d.nu, "", method, "least squares"),
            Feature(f"nu_ci_low_{k}", d.nu_ci_low, "", method, "95 % Student-t"),
            Feature(f"nu_ci_high_{k}", d.nu_ci_high, "", method, "95 % Student-t"),
            Feature(f"r0_ohm_{k}", d.r0_ohm, "Ohm", method + ", R at t = 1 s", ""),
        ]
    arrays = {"state": (states, ""), "nu": ([per[s].nu for s in states], "")}
    return RunAnalysis("retention", feats, arrays, method, "95 % Student-t interval")


# ---------------------------------------------------------------------------------------------- endurance
@register_analysis("endurance")
def analyze_endurance_run(run) -> RunAnalysis:
    """Columns ``Cycle`` and ``Threshold window (V)`` (parameter ``min_window_V``, 0.1 V); runs of the first
    model's endurance (``Resistance SET/RESET (Ohm)``, parameter ``min_window``) are read as before."""
    from tspcm_lab.analysis import drift

    names = set(run.columns)
    if "Threshold window (V)" in names:
        c = columns(run, "endurance", ["Cycle", "Threshold window (V)"])
        mw = float_param(run, ("min_window_V",), 0.1)
        e = drift.threshold_window(c["Cycle"], c["Threshold window (V)"], mw)
        method = "drift.threshold_window: V_T(RESET) - V_T(SET) per read cycle"
        text, unit = f"window < {mw:g} V", "V"
    else:
        c = columns(run, "endurance", ["Cycle", "Resistance SET (Ohm)", "Resistance RESET (Ohm)"])
        mw = float_param(run, ("min_window",), 10.0)
        e = drift.endurance_window(c["Cycle"], c["Resistance SET (Ohm)"], c["Resistance RESET (Ohm)"], mw)
        method = "drift.endurance_window: R_RESET / R_SET per cycle"
        text, unit = f"window < {mw:g}", ""
    feats = [
        Feature("window_first", e.first_window, unit, method, ""),
        Feature("window_last", e.last_window, unit, method, ""),
        Feature("window_min", e.min_window, unit, method, ""),
        Feature("failure_cycle", e.failure_cycle, "", method + ", first cycle below the criterion", text),
        Feature("window_slope_dec_per_dec", e.window_slope, "", method + ", log10 window vs log10 cycle", ""),
    ]
    return RunAnalysis("endurance", feats, {}, method, text, {"min_window": mw})


# ---------------------------------------------------------------------------------------------- delay-recovery
@register_analysis("delay-recovery")
def analyze_delay_recovery_run(run) -> RunAnalysis:
    """Delay rows: ``Voltage (V)``, ``Delay (s)``; recovery rows: ``Interval (s)``, ``Firing probability``,
    optional ``Probe fraction`` (probe amplitude / Vth; two or more fractions give tau from the crossings).

    Parameter read: ``vth_V`` (default: the run's ``Threshold (V)`` column, else the smallest voltage with a
    measured delay; only t_d0 depends on it).
    """
    from tspcm_lab.analysis import drift

    c = columns(
        run,
        "delay-recovery",
        ["Voltage (V)", "Delay (s)", "Interval (s)", "Firing probability"],
        ["Probe fraction", "Threshold (V)"],
    )
    d_rows = np.isfinite(c["Delay (s)"]) & ~np.isfinite(c["Interval (s)"])
    r_rows = np.isfinite(c["Interval (s)"])
    v, td = c["Voltage (V)"][d_rows], c["Delay (s)"][d_rows]
    vth = float_param(run, ("vth_V",), None)
    vth_src = "parameter vth_V"
    if vth is None and "Threshold (V)" in c and np.isfinite(c["Threshold (V)"]).any():
        vth = float(np.nanmedian(c["Threshold (V)"]))
        vth_src = "the run's measured threshold"
    if vth is None:
        vth = float(v[td > 0].min()) if np.any(td > 0) else math.nan
        vth_src = "smallest voltage with a delay"
    feats = []
    if np.count_nonzero(td > 0) >= 2 and math.isfinite(vth):
        d = drift.delay_vs_overdrive(v, td, vth)
        m = "drift.delay_vs_overdrive: mean t_d = t_d0 exp(-(V - Vth)/V0), exponential-delay likelihood"
        feats += [
            Feature("td0_s", d.td0_s, "s", m, f"Vth = {vth:g} V from {vth_src}"),
            Feature("v0_V", d.v0_V, "V", m, "maximum likelihood"),
            Feature("v0_stderr_V", d.v0_stderr_V, "V", m, "covariance x dispersion"),
        ]
    fractions = c["Probe fraction"][r_rows] if "Probe fraction" in c else None
    if fractions is not None and np.unique(fractions[np.isfinite(fractions)]).size >= 2:
        r = drift.recovery_from_probes(fractions, c["Interval (s)"][r_rows], c["Firing probability"][r_rows])
        m = "drift.recovery_from_probes: ln(1 - f) = ln(1 - V_start/Vth) - t_f/tau"
        feats += [
            Feature("recovery_tau_s", r.tau_s, "s", m, "slope over the probe fractions' 1/2 crossings"),
            Feature("recovery_tau_stderr_s", r.tau_stderr_s, "s", m, "least squares"),
            Feature(
                "recovery_tau_grid_stderr_s",
                r.tau_grid_stderr_s,
                "s",
                m,
                "the pulse-interval grid's resolution: each crossing uniform in its bracket, (t1 - t0)/sqrt(12)",
            ),
            Feature(
                "recovery_start_V",
                r.v_start_fraction * vth,
                "V",
                m,
                f"threshold just after turn-off, x Vth = {vth:g} V",
            ),
            Feature(
                "t_recover_s",
                r.crossing_s[-1],
                "s",
                "interval where the highest probe's firing probability falls through 1/2",
                f"probe at {r.fractions[-1]:g} x Vth",
            ),
        ]
    elif np.count_nonzero(r_rows) >= 4:
        r = drift.recovery_time(c["Interval (s)"][r_rows], c["Firing probability"][r_rows])
        m = "drift.recovery_time: y = y_inf + (y0 - y_inf) exp(-dt/tau)"
        feats += [
            Feature("recovery_tau_s", r.tau_s, "s", m, "fitted tau (one probe level)"),
            Feature("recovery_tau_stderr_s", r.tau_stderr_s, "s", m, "sqrt of covariance"),
            Feature(
                "t_recover_s",
                r.t_recover_s,
                "s",
                "interval where recovery reaches 1 - 1/e",
                "model-free, log-interpolated",
            ),
        ]
    return RunAnalysis(
        "delay-recovery",
        feats,
        {},
        "drift.delay_vs_overdrive, drift.recovery_from_probes",
        f"Vth from {vth_src}",
        {"vth_V": vth},
    )
