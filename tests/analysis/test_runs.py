"""Run-level analysis of every procedure's run file (written through the store), registry and write-back."""

import math

import numpy as np
import pytest

from tspcm_lab.analysis import registry
from tspcm_lab.analysis.batch import analyze_run_file
from tspcm_lab.analysis.examples import PROCEDURES, TRUTH
from tspcm_lab.analysis.features import Feature, RunAnalysis
from tspcm_lab.store.reader import open_run
from tspcm_lab.store.writer import RunWriter


def features(path):
    res = analyze_run_file(path)
    assert res.error is None, res.error
    return {r["feature"]: r["value"] for r in res.rows}, res


def test_every_procedure_has_an_analysis():
    assert set(PROCEDURES) <= set(registry.registered())


def test_iv_sweep_run(example_runs):
    f, res = features(example_runs["iv-sweep"])
    t = TRUTH["iv-sweep"]
    assert abs(f["vth_mean_V"] - t["vth_V"]) <= t["step_V"]
    assert abs(f["vhold_mean_V"] - t["vhold_V"]) <= t["step_V"]
    assert f["hold_below_threshold_fraction"] == 1.0 and f["n_cycles"] == 3
    assert f["on_off_ratio_median"] > 1e4
    row = next(r for r in res.rows if r["feature"] == "vth_mean_V")
    assert row["units"] == "V" and "R_s = 10000 Ohm" in row["method"] and row["criterion"].startswith("largest")
    # written back under /analysis/iv-sweep with units, per-cycle arrays for every criterion
    an = open_run(example_runs["iv-sweep"]).analysis["iv-sweep"]
    assert an["values"]["vth_mean_V"] == pytest.approx(f["vth_mean_V"])
    assert an["units"]["vth_mean_V"] == "V"
    for crit in ("jump", "current", "slope"):
        assert np.all(np.abs(np.asarray(an["values"][f"vth_V_{crit}"]) - t["vth_V"]) <= t["step_V"])
    assert an["threshold_criterion"] == "jump" and an["series_resistance_ohm"] == 1e4


def test_pulse_train_run(example_runs):
    f, _ = features(example_runs["pulse-train"])
    t = TRUTH["pulse-train"]
    assert f["p_a_pulses"] == pytest.approx(t["a_p"], rel=0.2)
    assert f["d_a_pulses"] == pytest.approx(t["a_d"], rel=0.2)
    assert f["p_a_over_pmax"] == pytest.approx(t["a_p"] / t["pulses"], rel=0.2)
    assert f["p_dynamic_range"] == pytest.approx(10, rel=0.1)
    assert f["asymmetry"] == pytest.approx((t["a_p"] - t["a_d"]) / (t["a_p"] + t["a_d"]), abs=0.1)


def test_intrinsic_runs(example_runs):
    f, res = features(example_runs["threshold-vs-weight"])
    assert f["threshold_spearman_rho"] == -1.0
    assert f["threshold_slope_V_per_decade"] == pytest.approx(-0.2, rel=0.05)
    units = {r["feature"]: r["units"] for r in res.rows}
    assert units["threshold_slope_V_per_decade"] == "V/decade"  # a slope, not a voltage (the report shows the units)
    f, res = features(example_runs["spike-train"])
    assert f["probability_spearman_rho"] > 0.9 and f["rate_spearman_rho"] > 0.9
    assert {r["feature"]: r["units"] for r in res.rows}["rate_slope_Hz_per_decade"] == "Hz/decade"


def test_learning_and_pattern_runs(example_runs):
    f, _ = features(example_runs["learning-loop"])
    t = TRUTH["learning-loop"]
    # the example's probability is 0.95 * k / N: it reaches 0.9 at k = ceil(0.9 / 0.95 * N)
    n0, n1 = math.ceil(0.9 / 0.95 * t["pulses_first"]), math.ceil(0.9 / 0.95 * t["pulses_retrain"])
    assert (f["pulses_first"], f["pulses_retrain"]) == (n0, n1)
    assert f["savings"] == pytest.approx((n0 - n1) / n0)
    f, _ = features(example_runs["pattern"])
    assert (f["epochs_first"], f["epochs_retrain"]) == (4, 2)
    assert f["savings"] == pytest.approx(0.5) and f["final_accuracy"] == 1.0
    an = open_run(example_runs["pattern"]).analysis["pattern"]
    assert np.asarray(an["values"]["maps_S"]).shape == (5 + 3, 4, 4)
    assert an["units"]["maps_S"] == "S"


def test_retention_endurance_delay_runs(example_runs):
    f, _ = features(example_runs["retention"])
    for k, nu in enumerate(TRUTH["retention"]["nu"]):
        if nu:
            assert f[f"nu_state{k}"] == pytest.approx(nu, rel=0.1)
            assert f[f"nu_ci_low_state{k}"] < nu < f[f"nu_ci_high_state{k}"]
    f, _ = features(example_runs["endurance"])
    assert 1e5 <= f["failure_cycle"] <= 1e5 * 10**0.25 and f["window_first"] == pytest.approx(100)
    f, _ = features(example_runs["delay-recovery"])
    t = TRUTH["delay-recovery"]
    assert f["v0_V"] == pytest.approx(t["v0_V"], rel=0.1)
    assert f["td0_s"] == pytest.approx(t["td0_s"], rel=0.2)
    assert f["recovery_tau_s"] == pytest.approx(t["tau_s"], rel=0.15)


def _run(path, procedure, cols, params=None):
    w = RunWriter.create(
        path, parameters=params or {}, columns=list(cols), procedure_name=procedure, flush_interval_s=None, live=False
    )
    w.append_columns(cols)
    w.close()
    return path


def test_missing_column_is_named(tmp_path):
    path = _run(tmp_path / "iv.h5", "iv-sweep", {"Cycle": np.zeros(3), "Voltage (V)": np.arange(3.0)})
    res = analyze_run_file(path)
    assert res.rows == [] and "Current (A)" in res.error and "iv-sweep" in res.error


def test_unknown_procedure_is_named(tmp_path):
    path = _run(tmp_path / "x.h5", "no-such-procedure", {"X": np.zeros(3)})
    res = analyze_run_file(path)
    assert "no-such-procedure" in res.error and "iv-sweep" in res.error


def test_plugin_procedure_registers_its_analysis(tmp_path):
    def mean_current(run):
        i = run.columns["Current (A)"]
        return RunAnalysis("my-probe", [Feature("mean_current_A", float(np.mean(i)), "A", "mean")])

    registry.register_analysis("my-probe", mean_current)
    try:
        with pytest.raises(ValueError, match="already registered"):
            registry.register_analysis("my-probe", lambda run: None)
        path = _run(tmp_path / "p.h5", "my-probe", {"Current (A)": np.array([1e-6, 3e-6])})
        f, _ = features(path)
        assert f == {"mean_current_A": pytest.approx(2e-6)}
        assert open_run(path).analysis["my-probe"]["units"]["mean_current_A"] == "A"
    finally:
        registry._REGISTRY.pop("my-probe", None)


def test_reanalysis_replaces_never_duplicates(example_runs):
    path = example_runs["endurance"]
    first, _ = features(path)
    second, _ = features(path)
    assert first == second
    assert list(open_run(path).analysis) == ["endurance"]
