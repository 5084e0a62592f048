"""Small synthetic run files of every procedure, written through the store with the columns of
docs/analysis.md: for tests, benchmarks and trying ``tspcm analyze`` without a bench.

``write_example_run(path, procedure, seed)`` writes one run whose known parameters are listed in
:data:`TRUTH`; the curves come from :mod:`tspcm_lab.analysis.synthetic` (not from the device model).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tspcm_lab.analysis import synthetic as syn

PROCEDURES = (
    "iv-sweep",
    "pulse-train",
    "spike-train",
    "threshold-vs-weight",
    "learning-loop",
    "pattern",
    "retention",
    "endurance",
    "delay-recovery",
)

#: the parameters the example runs are made with (what the analysis should give back)
TRUTH = {
    "iv-sweep": {"vth_V": 1.1, "vhold_V": 0.6, "step_V": 0.02, "series_resistance_ohm": 1e4},
    "pulse-train": {"a_p": 16.0, "a_d": 10.0, "pulses": 32, "g_min_S": 1e-5, "g_max_S": 1e-4},
    "pattern": {"pattern": "1001/0110/0110/1001", "epochs_first": 4, "epochs_retrain": 2},
    "learning-loop": {"pulses_first": 30, "pulses_retrain": 12, "criterion_probability": 0.9},
    "retention": {"nu": (0.1, 0.05, 0.0)},
    "endurance": {"failure_cycle": 1e5},
    "delay-recovery": {"v0_V": 0.1, "td0_s": 1e-6, "vth_V": 1.1, "tau_s": 1e-6},
}


def _columns(procedure: str, rng: np.random.Generator):
    """(columns {label: array}, parameters {key: (value, units)}) of one example run."""
    if procedure == "iv-sweep":
        t = TRUTH[procedure]
        v, cyc = syn.staircase(2.0, t["step_V"], cycles=3)
        i = syn.ts_iv(
            v,
            vth_V=t["vth_V"],
            vhold_V=t["vhold_V"],
            r_series_ohm=t["series_resistance_ohm"],
            noise=0.01,
            floor_A=1e-12,
            rng=rng,
        )
        direction = np.sign(np.gradient(np.abs(v)))
        return (
            {"Cycle": cyc, "Direction": direction, "Voltage (V)": v, "Current (A)": i},
            {"series_resistance_ohm": (t["series_resistance_ohm"], "Ohm"), "compliance_A": (1e-4, "A")},
        )
    if procedure == "pulse-train":
        t = TRUTH[procedure]
        p, c, ph, g = syn.pulse_train(
            a_p=t["a_p"],
            a_d=t["a_d"],
            pulses=t["pulses"],
            cycles=2,
            g_min_S=t["g_min_S"],
            g_max_S=t["g_max_S"],
            noise_fraction=0.01,
            rng=rng,
        )
        return {"Pulse": p, "Cycle": c, "Phase": ph, "Conductance (S)": g}, {"pulses": (t["pulses"], "")}
    if procedure == "spike-train":
        g = np.logspace(-5, -4, 10)
        prob = np.clip(0.1 + 0.8 * np.log10(g / 1e-5) + 0.02 * rng.standard_normal(g.size), 0, 1)
        return (
            {
                "Train": np.arange(g.size),
                "Conductance (S)": g,
                "Firing probability": prob,
                "Firing rate (Hz)": 1e5 * prob,
            },
            {},
        )
    if procedure == "threshold-vs-weight":
        g = np.logspace(-6, -4, 8)
        vth = 1.6 - 0.2 * np.log10(g / 1e-6) + 0.005 * rng.standard_normal(g.size)
        return {"State": np.arange(g.size), "Conductance (S)": g, "Threshold (V)": vth}, {}
    if procedure == "learning-loop":
        t = TRUTH[procedure]
        stages, pulses, prob = [], [], []
        for s, n in ((0, t["pulses_first"]), (1, t["pulses_retrain"])):
            k = np.arange(1, n + 6)
            stages.append(np.full(k.size, s))
            pulses.append(k)
            prob.append(np.clip(0.95 * k / n, 0, 1))  # reaches 0.9 at pulse ceil(0.9/0.95 n)
        return (
            {
                "Stage": np.concatenate(stages),
                "Pulse": np.concatenate(pulses),
                "Firing probability": np.concatenate(prob),
            },
            {"criterion_probability": (t["criterion_probability"], "")},
        )
    if procedure == "pattern":
        from tspcm_lab.analysis.learning import parse_pattern

        t = TRUTH[procedure]
        target = parse_pattern(t["pattern"])
        on = np.argwhere(target)
        cols = {k: [] for k in ("Stage", "Epoch", "Row", "Column", "Conductance (S)")}
        for s, n_epochs in ((0, t["epochs_first"]), (1, t["epochs_retrain"])):
            for e in range(1, n_epochs + 2):
                g = np.full(target.shape, 1e-6) * np.exp(0.1 * rng.standard_normal(target.shape))
                learned = on[: int(round(len(on) * min(1.0, e / n_epochs)))]
                g[tuple(learned.T)] = 1e-4
                r, c = np.indices(target.shape)
                for k, v in (
                    ("Stage", np.full(g.size, s)),
                    ("Epoch", np.full(g.size, e)),
                    ("Row", r.ravel()),
                    ("Column", c.ravel()),
                    ("Conductance (S)", g.ravel()),
                ):
                    cols[k].append(v)
        return {k: np.concatenate(v) for k, v in cols.items()}, {"pattern": (t["pattern"], "")}
    if procedure == "retention":
        t_s = np.logspace(0, 4, 20)
        states, times, res = [], [], []
        for s, (nu, r0) in enumerate(zip(TRUTH[procedure]["nu"], (1e6, 1e5, 1e4))):
            states.append(np.full(t_s.size, s))
            times.append(t_s)
            res.append(syn.drift_record(nu, r0, t_s, 0.01, rng))
        return (
            {
                "State": np.concatenate(states),
                "Time (s)": np.concatenate(times),
                "Resistance (Ohm)": np.concatenate(res),
            },
            {},
        )
    if procedure == "endurance":
        c = np.logspace(0, 6, 25)
        return (
            {"Cycle": c, "Resistance SET (Ohm)": np.full(c.size, 1e4), "Resistance RESET (Ohm)": 1e6 * c**-0.2},
            {"min_window": (10.0, "")},
        )
    if procedure == "delay-recovery":
        t = TRUTH[procedure]
        v = np.linspace(1.2, 2.0, 10)
        td = syn.delay_record(v, t["td0_s"], t["v0_V"], t["vth_V"], 0.03, rng)
        dt = np.logspace(-8, -4, 12)
        y = syn.recovery_record(dt, t["tau_s"], 0.1, 0.9, 0.01, rng)
        nan_d, nan_r = np.full(v.size, np.nan), np.full(dt.size, np.nan)
        return (
            {
                "Voltage (V)": np.concatenate([v, np.full(dt.size, 1.3)]),
                "Delay (s)": np.concatenate([td, nan_r]),
                "Interval (s)": np.concatenate([nan_d, dt]),
                "Firing probability": np.concatenate([nan_d, y]),
            },
            {"vth_V": (t["vth_V"], "V")},
        )
    raise ValueError(f"procedure must be one of {PROCEDURES}, got {procedure!r}")


def write_example_run(path, procedure: str, seed: int = 0) -> Path:
    """Write an example run file of ``procedure`` at ``path`` (replaced if it exists); returns the path."""
    from tspcm_lab.store.writer import RunWriter

    rng = np.random.default_rng(seed)
    cols, params = _columns(procedure, rng)
    w = RunWriter.create(
        path,
        parameters=params,
        columns=list(cols),
        procedure_name=procedure,
        procedure_class=f"tspcm_lab.analysis.examples:{procedure}",
        seed=seed,
        title=f"example {procedure}",
        flush_interval_s=None,
        live=False,
        overwrite=True,
    )
    w.append_columns(cols)
    w.close()
    return Path(path)
