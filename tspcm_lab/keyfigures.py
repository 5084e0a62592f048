"""The figures that say what a run measured, for the console: Vth and Vhold of an I-V run, the
NeuroSim nonlinearity of a pulse train, the savings of a learning loop... (``tspcm demo``,
``tspcm run``, ``tspcm runs``). Values from the run's analysis (the same extractors as
``tspcm analyze``), written with SI prefixes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from tspcm_lab.si import format_si

#: the format of a yes/no figure (1 yes, 0 no; NaN not known): "yes"/"no" on the console, and `tspcm fit --check`
#: compares it as a share of the runs (tspcm_lab.analysis.modelfit), not as a mean and sigma
YES_NO = "yes/no"
#: procedure -> [(feature, label, format)]: format None = SI prefix with the feature's units, YES_NO a yes/no
#: figure; a feature ending in "*" stands for every feature with that prefix (one per state)
KEY_FIGURES: dict[str, list[tuple[str, str, str | None]]] = {
    # the median first: the threshold `tspcm fit` takes (a first cycle that SETs a RESET cell pulls the mean up)
    "iv-sweep": [
        ("vth_median_V", "Vth median", None),
        ("vhold_mean_V", "Vhold", None),
        ("n_cycles", "cycles", "{:.0f}"),
        ("vth_mean_V", "Vth mean", None),
    ],
    "pulse-train": [
        ("p_a_pulses", "NeuroSim A (potentiation)", "{:.3g} pulses"),
        ("d_a_pulses", "A (depression)", "{:.3g} pulses"),
        ("p_dynamic_range", "Gmax/Gmin", "{:.3g}"),
    ],
    "spike-train": [
        ("firing_probability_mean", "mean firing probability", "{:.2f}"),
        ("probability_spearman_rho", "rho(probability, G)", "{:+.2f}"),
    ],
    "threshold-vs-weight": [
        ("threshold_mean_V", "mean threshold", None),
        ("threshold_slope_V_per_decade", "dVth/dlog10 G", "{:+.3f} V/decade"),
        ("threshold_spearman_rho", "rho(Vth, G)", "{:+.2f}"),
    ],
    # pulses_retrain and savings have a value only after a first training that reached the criterion
    "learning-loop": [
        ("first_reached", "first training reached the criterion", YES_NO),
        ("pulses_first", "pulses to criterion", "{:.0f}"),
        ("pulses_retrain", "after forgetting", "{:.0f}"),
        ("savings", "savings", "{:.0%}"),
    ],
    "pattern": [
        ("first_reached", "first training reached the criterion", YES_NO),
        ("epochs_first", "epochs to criterion", "{:.0f}"),
        ("epochs_retrain", "after forgetting", "{:.0f}"),
        ("savings", "savings", "{:.0%}"),
        ("final_accuracy", "final accuracy", "{:.0%}"),
    ],
    "retention": [("nu_*", "drift nu", "{:.3f}")],
    "endurance": [
        ("window_first", "threshold window first", None),
        ("window_last", "last", None),
        ("window_min", "min", None),
    ],
    "delay-recovery": [("v0_V", "delay V0", None), ("td0_s", "t_d0", None), ("recovery_tau_s", "recovery tau", None)],
}
#: features shown for a procedure without key figures (a plugin's)
FIRST_FEATURES = 3
#: a key figure read off a fit, shown with the fit's R^2 beside it: a NeuroSim A from a fit that explains little
#: of the curve (an abrupt step, not a saturating curve) is not a figure to quote without it
FIT_QUALITY = {"p_a_pulses": "p_fit_r2", "d_a_pulses": "d_fit_r2"}


def _one(value: float, units: str, fmt: str | None) -> str:
    if fmt == YES_NO:
        return "yes" if value else "no"
    return format_si(value, units, 4, ascii=False) if fmt is None else fmt.format(value)


def yes_no_figures(procedure: str) -> set[str]:
    """The procedure's key figures that are yes/no (:data:`YES_NO`)."""
    return {feature for feature, _label, fmt in KEY_FIGURES.get(procedure, []) if fmt == YES_NO}


def figures(
    procedure: str, features: Mapping[str, float], units: Mapping[str, str] | None = None, *, limit: int | None = None
) -> str:
    """ "Vth 1.781 V; Vhold 1.025 V; cycles 3" from {feature: value} (and their units); a procedure
    without key figures shows its first few features by name. ``limit``: at most that many figures."""
    units = units or {}
    parts = []
    spec = KEY_FIGURES.get(procedure)
    if spec is None:
        spec = [(name, name, None) for name in list(features)[:FIRST_FEATURES]]
    for feature, label, fmt in spec:
        if feature.endswith("*"):
            matches = sorted(k for k in features if k.startswith(feature[:-1]) and "_ci_" not in k)
            values = [features[k] for k in matches if math.isfinite(features[k])]
            if values:
                parts.append(f"{label} " + ", ".join(_one(v, units.get(k, ""), fmt) for k, v in zip(matches, values)))
            continue
        value = features.get(feature)
        if value is not None and math.isfinite(value):
            text = f"{label} {_one(value, units.get(feature, ''), fmt)}"
            r2 = features.get(FIT_QUALITY.get(feature, ""), math.nan)
            parts.append(f"{text} (fit R² {r2:.2f})" if math.isfinite(r2) else text)
    if limit is not None:
        parts = parts[:limit]
    return "; ".join(parts) or "no features"


def run_features(path) -> tuple[str, dict[str, float], dict[str, str], str]:
    """(procedure, {feature: value}, {feature: units}, source) of a run file: the stored /analysis
    when ``tspcm analyze`` wrote one ("stored"), else computed now with the same extractors
    ("computed"). Raises what the reader or the analysis raises."""
    from tspcm_lab.analysis.registry import get_analysis
    from tspcm_lab.store.reader import read_run

    run = read_run(path)
    stored = run.analysis.get(run.procedure)
    if stored:
        values = {k: float(v) for k, v in stored["values"].items() if _is_number(v)}
        return run.procedure, values, dict(stored["units"]), "stored"
    analysis = get_analysis(run.procedure)(run)
    return (
        run.procedure,
        {f.name: f.value for f in analysis.features},
        {f.name: f.units for f in analysis.features},
        "computed",
    )


def _is_number(value) -> bool:
    """A scalar number (the stored features), not an array (the per-cycle details)."""
    import numpy as np

    return np.ndim(value) == 0 and isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
