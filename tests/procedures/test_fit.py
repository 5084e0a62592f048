"""tspcm fit round trip: runs simulated on a cell with known NON-default parameters (two cells: two seeds)
are fitted back; every parameter the runs identify lies within its reported 95 % interval, the written file
loads and drives the simulated bench. Bad input is refused with what is missing, and no file is written."""

import math
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

import pyvisa_tspcm
from procedures.delay_recovery import DelayRecoveryProcedure
from procedures.iv_sweep import IVSweepProcedure
from procedures.retention import RetentionProcedure
from sim_backend.params import DEFAULTS_FILE, DeviceParams
from tspcm_lab import runner
from tspcm_lab.analysis.devicefit import fit_runs, render
from tspcm_lab.store.digest import write_digest

#: the model-in-the-loop fit of two cells re-runs their procedures on the simulated bench some 50 times: minutes
#: on a loaded two-core machine, beyond the suite's 300 s hang guard (pyproject.toml)
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

#: three non-default devices (the defaults: Vth 1.2 V, Vhold 0.5 V, R_on 5 kOhm, t_d0 100 ns, V0 0.1 V,
#: tau_rec 300 ns, nu 0.1)
DEVICES = {
    "slow-high": {
        "ts.vth_v": 1.35,
        "ts.vhold_v": 0.6,
        "ts.r_on_ohm": 7000.0,
        "ts.t_d0_s": 2e-7,
        "ts.v0_delay_v": 0.08,
        "ts.tau_recovery_s": 6e-7,
        "pcm.nu_drift": 0.07,
    },
    "fast-low": {
        "ts.vth_v": 1.1,
        "ts.vhold_v": 0.45,
        "ts.r_on_ohm": 5500.0,
        "ts.t_d0_s": 5e-8,
        "ts.v0_delay_v": 0.12,
        "ts.tau_recovery_s": 2e-7,
        "pcm.nu_drift": 0.09,
    },
    "resistive": {
        "ts.vth_v": 1.25,
        "ts.vhold_v": 0.55,
        "ts.r_on_ohm": 8000.0,
        "ts.t_d0_s": 3e-7,
        "ts.v0_delay_v": 0.1,
        "ts.tau_recovery_s": 5e-7,
        "pcm.nu_drift": 0.05,
    },
}
TRUE = DEVICES["slow-high"]
#: measured: which parameters the runs do NOT identify, per device (modelfit.IDENTIFIED_FACTOR), with R_on as
#: extracted: none. The screen before fitting used to scale its half-widths by the chi2/dof at the start (the cells'
#: mean delay law), which on slow-high cell A (chi2/dof ~12) put t_d0 at x12-x16, beyond x10: not fitted, so t_d0 was
#: not identified, and 10 Ohm lower it was. Against the features' noise alone the screen gives x1.1-x2.3 on every
#: cell (docs/scripts/delay_verdicts.py). The verdict after fitting still moves with the draw on slow-high and
#: resistive (VERDICT_KNIFE_EDGE below)
NOT_IDENTIFIED: dict[str, set] = {"slow-high": set(), "fast-low": set(), "resistive": set()}
#: R_on moves (Ohm) far inside R_on's own interval (+-4-8 %) under which the delay law's verdicts must not move
R_ON_MOVES_OHM = (-10.0, +15.0)
#: direct extraction only (one cell, its analysis' own interval): nu = 0.05 comes back 0.047 (6 % low, 2 seeds),
#: beyond its statistical interval (the loop brings it within:
#: test_the_loop_removes_the_bias_of_the_drift_exponent); V0 0.15-0.19 V for 0.1 V (delays near the RC charging
#: time; the loop says the runs do not identify it)
DIRECT_BIASED = {"resistive": {"pcm.nu_drift", "ts.v0_delay_v"}}
#: measured: the cells (A: seed 11, B: seed 12) whose iv-sweep shows held on-branch segments (the PCM's residual
#: amorphous part switched on, holding its voltage: their slope is R_on + R_cryst, the amorphous part left out), which
#: measure R_on; the others' ohmic slopes only bound it (docs/scripts/held_on_state.py: 2, 2 and 8 of 22 cells)
R_ON_HELD = {"slow-high": {"A"}, "fast-low": {"A"}, "resistive": {"A"}}
RUNS = [
    (IVSweepProcedure, {"cycles": 6, "compliance_A": 100e-6}),
    (DelayRecoveryProcedure, {}),
    (RetentionProcedure, {"states": 2, "target_min_S": 1e-6, "target_max_S": 5e-6, "duration_s": 1e4, "reads": 25}),
]


#: the delay-recovery procedure's default pulse intervals, 40 ns .. 3.2 us, span a 300 ns recovery
RECOVERY_INTERVALS_S = [40e-9, 70e-9, 100e-9, 150e-9, 200e-9, 300e-9, 400e-9, 600e-9, 800e-9, 1.1e-6, 1.6e-6, 3.2e-6]


def settings(cls, true):
    """What an engineer sets for a cell of known order of magnitude: pulse intervals spanning its recovery, a
    firing current a third of the lowest probe's (0.6 Vth) on-state current, the switch's on-resistance (from
    the iv-sweep) for the conductance reads."""
    if cls is DelayRecoveryProcedure:
        k = true["ts.tau_recovery_s"] / 3e-7
        i_on = (0.6 * true["ts.vth_v"] - true["ts.vhold_v"]) / (true["ts.r_on_ohm"] + 500.0)
        return {
            "recovery_intervals_s": ", ".join(f"{t * k:.3g}" for t in RECOVERY_INTERVALS_S),
            "fire_current_A": min(2e-5, i_on / 3),
            "read_ts_on_resistance_ohm": true["ts.r_on_ohm"],
        }
    if cls is RetentionProcedure:
        return {"read_ts_on_resistance_ohm": true["ts.r_on_ohm"]}
    return {}


def device_file(path, values):
    sections = {}
    for name, v in values.items():
        sec, key = name.split(".")
        sections.setdefault(sec, []).append(f"{key} = {v!r}")
    path.write_text("".join(f"[{s}]\n" + "\n".join(lines) + "\n" for s, lines in sections.items()))
    return path


def simulate(cls, values, path, seed, device):
    with runner.BenchSession.open("sim", seed=seed, sim_options=f"device={device}") as session:
        model = pyvisa_tspcm.get_bench(session.spec).model
        procedure = runner.build_procedure(cls, values, session)
        runner.validate(procedure)
        outcome = runner.execute(procedure, session, path, seed=seed)
        assert outcome.status == "completed", outcome.message
        return outcome.path, float(model.state.vth_device_v[0])


@pytest.fixture(scope="module", params=list(DEVICES))
def cells(request, tmp_path_factory):
    """Two cells (seeds 11, 12) of a non-default device, each measured by iv-sweep, delay-recovery, retention."""
    d = tmp_path_factory.mktemp("fit")
    true = DEVICES[request.param]
    device = device_file(d / "true.toml", true)
    out = {}
    for seed in (11, 12):
        out[seed] = [
            simulate(cls, {**values, **settings(cls, true)}, d / f"{cls.name}_{seed}.h5", seed, device)
            for cls, values in RUNS
        ]
    return d, out, true


DELAY = ("ts.t_d0_s", "ts.v0_delay_v")


def delay_fit(runs, res0, r_on_move: float, workers: int = 2):
    """The delay-recovery loop of ``runs`` (devicefit._Run) on a copy of the direct extraction ``res0`` with
    ts.r_on_ohm moved by ``r_on_move`` Ohm: (the FitResult, its CellFits)."""
    import copy

    from tspcm_lab.analysis.modelfit import loop_fit

    res = copy.deepcopy(res0)
    res.params["ts.r_on_ohm"].value += r_on_move
    delay = [r for r in runs if r.procedure == "delay-recovery"]
    return res, loop_fit(res, delay, dict(DeviceParams.load(None).values), workers=workers)


def fit_two_cells(runs, loop=False):
    return fit_runs([p for seed in (11, 12) for p, _ in runs[seed]], cells=["A"] * 3 + ["B"] * 3, loop=loop, workers=2)


@pytest.fixture(scope="module")
def fitted(cells):
    """Direct extraction, then the model-in-the-loop fit (the delay-recovery and retention runs re-run on the
    simulated bench, two processes), of the two cells."""
    d, runs, true = cells
    return fit_two_cells(runs, loop=True)


def device_name(true) -> str:
    return next(k for k, v in DEVICES.items() if v is true)


def biased(true, table=DIRECT_BIASED):
    return table.get(device_name(true), set())


def test_two_cells_are_fitted_back_within_their_intervals(cells, fitted, tmp_path):
    d, runs, TRUE = cells
    res = fitted
    for f in res.loop:
        print(f)
    for n, f in res.params.items():
        print(n, f.value, f.interval)
    assert set(res.params) == set(TRUE) | {"ts.vth_d2d_rel"}
    # every parameter: the truth within its reported interval, or said not identified, with why and its partner
    assert {n for n, f in res.params.items() if not f.identified} == NOT_IDENTIFIED[device_name(TRUE)]
    for name, true in TRUE.items():
        f = res.params[name]
        if not f.identified:
            assert f.interval is None and f.method.startswith("NOT IDENTIFIED"), f
            why = next(t for t in res.not_identified if t.startswith(name + ": not identified"))
            if "change by less than their noise" not in why:  # (else: not fitted at all, said so)
                assert "beyond x/" in why and "delay-recovery run with more overdrives" in why, why
                partner = ({"ts.t_d0_s", "ts.v0_delay_v"} - {name}).pop()
                assert f"correlation with {partner}" in why, why
            continue
        if name == "ts.r_on_ohm":  # measured by the cells with held segments, not bounded (docs/fitting.md)
            assert not f.bound and "r_on_held_ohm" in f.method and set(f.per_cell) == R_ON_HELD[device_name(TRUE)]
            assert f.interval[0] <= true <= f.interval[1] and f.value == pytest.approx(true, rel=0.05), f
            continue
        assert f.n_cells == 2 and f.interval is not None, name
        if f.bound == "upper":  # R_on: the PCM's residual amorphous part only adds (docs/fitting.md)
            assert true <= f.interval[1], (name, true, f)
        else:
            assert f.interval[0] <= true <= f.interval[1], (name, true, f)
        if name != "ts.t_d0_s" and not f.method.startswith("model-in-the-loop"):  # those: interval only
            assert f.value == pytest.approx(true, rel=0.3 if f.bound else 0.2), (name, f.value)
    # the device-to-device spread is the cells' own: their drawn thresholds' spread lies in its interval
    drawn = [vth for seed in (11, 12) for _, vth in runs[seed][:1]]
    lo, hi = res.params["ts.vth_d2d_rel"].interval
    assert lo <= abs(drawn[0] - drawn[1]) / 2**0.5 / (sum(drawn) / 2) <= hi
    # the written file is a device file: it loads with the fitted values and drives the simulated bench
    out = tmp_path / "mydevice.toml"
    out.write_text(render(res))
    params = DeviceParams.load(out)
    for name in TRUE:
        assert params[name] == res.params[name].value
        assert params.provenance[name]["basis"] == ("fitted" if res.params[name].identified else "not identified")
        assert "iv-sweep" in params.provenance[name]["source"] or name not in ("ts.vth_v", "ts.vhold_v")
    path, vth = simulate(IVSweepProcedure, {"cycles": 2, "compliance_A": 100e-6}, tmp_path / "iv.h5", 5, out)
    assert vth == pytest.approx(res.params["ts.vth_v"].value, rel=0.25)  # drawn around the fitted ts.vth_v


@pytest.fixture(scope="module")
def moved(cells):
    """The delay-recovery loop of the two cells again with R_on moved by each of R_ON_MOVES_OHM: {move: (FitResult,
    CellFits)}."""
    from tspcm_lab.analysis.devicefit import extract, load_runs

    d, runs, true = cells
    loaded = load_runs([p for seed in (11, 12) for p, _ in runs[seed]], ["A"] * 3 + ["B"] * 3, 500.0)
    base = extract(loaded, 500.0, True)
    return {move: delay_fit(loaded, base, move) for move in R_ON_MOVES_OHM}


def test_the_screen_fits_the_delay_law_on_every_cell_whatever_the_draw(moved):
    """With R_on moved by a few Ohm (0.1-0.2 %: a new draw of every simulated run, nothing the runs show) every
    cell still fits both delay-law parameters: none is screened out before fitting, as slow-high's cell A's t_d0
    was (x15.6 for x2.2) when the screen scaled its half-widths by the start's chi2/dof (docs/fitting.md)."""
    from tspcm_lab.analysis.modelfit import UNIDENTIFIED_FACTOR

    for move, (res, fits) in moved.items():
        for f in fits:
            assert not f.unidentified and set(f.values) == set(DELAY), (move, f)
            assert max(f.screen_halfwidth_log.values()) < math.log(UNIDENTIFIED_FACTOR) / 2, (move, f)


#: measured (docs/scripts/delay_verdicts.py): the verdict after fitting still moves with the draw on two devices,
#: whose cells' combined t_d0 half-width spans x/2.5: slow-high x1.74-x2.61 (not identified at R_on +15 Ohm),
#: resistive x1.6-x3.78 (t_d0 and V0 not identified at -10 Ohm: cell B's Jacobian gave rho -0.98 and t_d0 x13.5).
#: The marginal half-width of a near-collinear pair (rho -0.85 to -0.98 over delays at 0.05-0.3 V) is an
#: ill-conditioned function of a Jacobian estimated from three simulated cells a side: not fixed yet
#: (docs/fitting.md, "The delay law's verdicts")
VERDICT_KNIFE_EDGE = {"slow-high", "resistive"}


def test_delay_law_verdicts_do_not_move_with_a_small_r_on_change(cells, fitted, moved, request):
    """The delay law's verdicts are the runs', not a simulation draw's: with R_on moved by a few Ohm the same
    parameters are identified. Strict xfail where it is measured not to hold yet (VERDICT_KNIFE_EDGE): a fix
    makes it pass, and the mark must go."""
    d, runs, true = cells
    if device_name(true) in VERDICT_KNIFE_EDGE:
        request.applymarker(pytest.mark.xfail(strict=True, reason="the post-fit verdict is a draw here (measured)"))
    for move, (res, fits) in moved.items():
        for name in DELAY:
            assert res.params[name].identified is fitted.params[name].identified, (move, name, res.not_identified)


def test_one_cell_parameters_with_a_statistical_interval_contain_the_cells_values(cells):
    """One cell: Vth is its own drawn threshold, and Vhold, V0, nu (no device-to-device spread in the
    model) the configured ones. The one-run intervals of R_on and tau_rec come from the spread over cycles and
    the fit's standard error, which do not cover the method's bias (docs/fitting.md): checked at 20 %."""
    d, runs, TRUE = cells
    for seed in (11, 12):
        res = fit_runs([p for p, _ in runs[seed]], loop=False)  # direct extraction of one cell
        vth = runs[seed][0][1]
        checks = {
            "ts.vth_v": vth,
            "ts.vhold_v": TRUE["ts.vhold_v"],
            "ts.v0_delay_v": TRUE["ts.v0_delay_v"],
            "pcm.nu_drift": TRUE["pcm.nu_drift"],
        }
        for name, true in checks.items():
            if name in biased(TRUE):
                continue
            lo, hi = res.params[name].interval
            assert lo <= true <= hi, (seed, name, true, res.params[name])
        r_on = res.params["ts.r_on_ohm"]
        if "AB"[seed - 11] in R_ON_HELD[device_name(TRUE)]:  # measured: its interval holds the truth
            assert not r_on.bound and r_on.interval[0] <= TRUE["ts.r_on_ohm"] <= r_on.interval[1], r_on
        else:  # the ohmic slope's upper bound
            assert r_on.bound == "upper" and TRUE["ts.r_on_ohm"] <= r_on.interval[1], r_on
        assert r_on.value == pytest.approx(TRUE["ts.r_on_ohm"], rel=0.3)
        assert res.params["ts.tau_recovery_s"].value == pytest.approx(TRUE["ts.tau_recovery_s"], rel=0.2)
        assert res.params["ts.t_d0_s"].interval is None  # no standard error from one run: said, not invented
        assert any("ts.vth_d2d_rel" in t for t in res.not_identified)


def test_the_loop_removes_the_bias_of_the_drift_exponent(cells, fitted):
    """nu = 0.05: direct extraction reads it 6 % low, outside its interval; the model-in-the-loop fit (the
    retention runs re-run on the model, through the same analysis) brings it within."""
    d, runs, true = cells
    if true is not DEVICES["resistive"]:
        pytest.skip("the bias was measured on this device")
    lo, hi = fit_two_cells(runs).params["pcm.nu_drift"].interval
    assert not lo <= true["pcm.nu_drift"] <= hi  # direct extraction: the known bias
    lo, hi = fitted.params["pcm.nu_drift"].interval
    assert lo <= true["pcm.nu_drift"] <= hi


def tspcm(*args, cwd):
    return subprocess.run([sys.executable, "-m", "tspcm_lab", *args], cwd=cwd, capture_output=True, text=True)


def test_cli_writes_the_device_file_and_refuses_bad_input(cells, tmp_path):
    d, runs, true = cells
    if true is not DEVICES["slow-high"]:
        pytest.skip("the command line is checked on one device")
    iv, dr, ret = (p for p, _ in runs[11])
    r = tspcm("fit", str(iv), str(dr), str(ret), "--cells", "A,A,A", "-o", "my.toml", "--workers", "2", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "ts.vth_v" in r.stdout and (tmp_path / "my.toml").exists()
    assert "correlation ts.t_d0_s / ts.v0_delay_v" in r.stdout  # the loop's two delay-law parameters
    mine = DeviceParams.load(tmp_path / "my.toml")
    for name, run in (("ts.t_d0_s", dr), ("ts.v0_delay_v", dr), ("pcm.nu_drift", ret)):
        assert "model-in-the-loop" in mine.provenance[name]["source"] and run.name in mine.provenance[name]["source"]
        # fitted, or (the delay law of this one cell: measured, t_d0 with R_on from the held segments) said not
        # identified, on the command's output too
        basis = mine.provenance[name]["basis"]
        assert basis == "fitted" or (name != "pcm.nu_drift" and f"not identified: {name}" in r.stdout), (name, basis)
    # R_on: measured by the sweep's held segments (this cell has them), so not re-fitted in the loop
    assert mine.provenance["ts.r_on_ohm"]["basis"] == "fitted" and iv.name in mine.provenance["ts.r_on_ohm"]["source"]
    assert "r_on_held_ohm" in mine.provenance["ts.r_on_ohm"]["source"]

    # --base: a value known otherwise (the PCM's crystalline resistance) is used by the extraction and kept
    (tmp_path / "base.toml").write_text(
        '[pcm]\nr_cryst_ohm = { value = 800.0, unit = "Ohm", basis = "measured", source = "TLM, die 3" }\n'
    )
    r = tspcm("fit", str(iv), "--base", "base.toml", "-o", "based.toml", "--direct-only", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    based = DeviceParams.load(tmp_path / "based.toml")
    assert based["pcm.r_cryst_ohm"] == 800.0 and based.provenance["pcm.r_cryst_ohm"]["basis"] == "measured"
    direct = fit_runs([iv], loop=False).params["ts.r_on_ohm"].value  # the extraction subtracts r_cryst_ohm
    assert based["ts.r_on_ohm"] == pytest.approx(direct - 300.0)

    # wrong procedure: named, with the procedures the fit uses; no file
    wrong = tmp_path / "wrong.h5"
    shutil.copy(iv, wrong)
    with h5py.File(wrong, "a") as h5:
        h5.attrs["procedure"] = "learning-loop"
        write_digest(h5)  # an edit of the metadata on purpose: sealed again, else it reads as damaged
    r = tspcm("fit", str(iv), str(wrong), "-o", "no1.toml", cwd=tmp_path)
    assert r.returncode == 2 and "learning-loop" in r.stderr and "iv-sweep" in r.stderr
    assert not (tmp_path / "no1.toml").exists()

    # nothing identifiable: retention of SET-side states only (the crystalline series part hides the drift)
    set_side, _ = simulate(
        RetentionProcedure,
        {"states": 2, "target_min_S": 1e-4, "target_max_S": 2e-4, "duration_s": 100.0, "reads": 5},
        tmp_path / "set.h5",
        3,
        d / "true.toml",
    )
    r = tspcm("fit", str(set_side), "-o", "no2.toml", cwd=tmp_path)
    assert r.returncode == 2 and "nothing identifiable" in r.stderr and "pcm.nu_drift" in r.stderr
    assert not (tmp_path / "no2.toml").exists()

    # a cell label per run, or a refusal
    r = tspcm("fit", str(iv), str(dr), "--cells", "A", "-o", "no3.toml", cwd=tmp_path)
    assert r.returncode == 2 and "--cells" in r.stderr and not (tmp_path / "no3.toml").exists()
    r = tspcm("fit", str(d), "--cells", "A", "-o", "no4.toml", cwd=tmp_path)  # a folder's order is not the user's
    assert r.returncode == 2 and "not folders" in r.stderr and not (tmp_path / "no4.toml").exists()


def test_cli_refuses_too_few_measurements_and_a_fit_that_does_not_converge(cells, tmp_path):
    """Must-show 4: one line naming what is missing, exit 2, no device file."""
    d, runs, true = cells
    if true is not DEVICES["slow-high"]:
        pytest.skip("the command line is checked on one device")
    iv, dr, ret = (p for p, _ in runs[11])
    # a delay-recovery run at one overdrive: one delay feature for the delay law's two parameters
    one, _ = simulate(
        DelayRecoveryProcedure,
        {**settings(DelayRecoveryProcedure, true), "delay_overdrives_V": "0.1", "measure_recovery": False},
        tmp_path / "one.h5",
        4,
        d / "true.toml",
    )
    r = tspcm("fit", str(iv), str(one), "-o", "no5.toml", cwd=tmp_path)
    assert r.returncode == 2 and not (tmp_path / "no5.toml").exists()
    line = r.stderr.strip()
    assert "\n" not in line and "too few" in line and "ts.t_d0_s" in line and "two or more overdrives" in line
    # a fit stopped before it converged (the evaluation budget): said, nothing written
    r = tspcm("fit", str(ret), "-o", "no6.toml", "--max-evaluations", "1", cwd=tmp_path)
    assert r.returncode == 2 and not (tmp_path / "no6.toml").exists()
    assert "did not converge" in r.stderr and "pcm.nu_drift" in r.stderr and "--max-evaluations" in r.stderr


#: measured (docs/fitting.md, docs/scripts/fit_roundtrip.py): the held-out mean threshold, judged against the two
#: measured cells' spread (their sample sigma, 0.017-0.021 V on these devices). The defaults (Vth 1.2 V) miss on
#: every device (0.05-0.19 V off). The fitted file predicts all three within 2 sigma: slow-high +0.029 V, fast-low
#: -0.002 V, resistive +0.000 V. On resistive an earlier fit missed (1.412 V, 5 sigma): its R_on from the loop on the
#: ohmic slope, 8620 Ohm for 8000, left the procedure's default SET pulses unable to program the simulated cell (0 of
#: 10 PCM states reached; docs/scripts/held_out_trace.py); with R_on measured by the sweep's held segments (7902 Ohm)
#: they program 10 of 10, as on the measured cells.
FITTED_WITHIN = {"slow-high": True, "fast-low": True, "resistive": True}
DEFAULTS_MISS = {"slow-high": True, "fast-low": True, "resistive": True}
#: measured: whether `tspcm fit --check` notes that the fitted file's simulated runs reached fewer PCM states than
#: the measured ones (slow-high: 4.83 per run for 5); the defaults' runs reach them all on every device
CONDITIONS_NOTED = {"slow-high": True, "fast-low": False, "resistive": False}


@pytest.fixture(scope="module")
def held_out(cells):
    """A threshold-vs-weight run (the procedure's defaults: a DC threshold at five PCM states) on each of the two
    cells: a procedure the fit did not use."""
    from procedures.threshold_vs_weight import ThresholdVsWeightProcedure

    d, runs, true = cells
    return [
        simulate(ThresholdVsWeightProcedure, {}, d / f"threshold-vs-weight_{seed}.h5", seed, d / "true.toml")[0]
        for seed in (11, 12)
    ]


def check_rows(device, held, cwd, out=None):
    r = tspcm("fit", "--check", str(device), *map(str, held), "--seeds", "3", "--workers", "2", cwd=cwd)
    assert r.returncode in (0, 1), r.stdout + r.stderr
    print(r.stdout)
    if out is not None:
        out.append(r.stdout)
    return {ln.split()[1]: ln.split() for ln in r.stdout.splitlines()[1:] if ln.startswith("threshold-vs-weight")}


def test_check_predicts_held_out_thresholds_within_the_cells_spread_and_the_defaults_do_not(
    cells, fitted, held_out, tmp_path
):
    """Must-show 2: fitted on iv-sweep, delay-recovery and retention runs, the device file predicts a held-out
    procedure (threshold-vs-weight: the cell's mean threshold over five PCM states) of the same two cells within
    the measured cells' spread (2 sigma) on the three devices (FITTED_WITHIN), and the defaults do not on any: the
    check tells the fitted device from the defaults."""
    d, runs, true = cells
    (tmp_path / "mine.toml").write_text(render(fitted))
    out = []
    mine = check_rows("mine.toml", held_out, tmp_path, out)["threshold_mean_V"]
    within = FITTED_WITHIN[device_name(true)]
    assert (mine[7] == "yes") is within and (abs(float(mine[4])) <= 2 * float(mine[5])) is within, mine
    assert mine[8] == "(cells:", mine  # two measured cells: their own spread, no fallback
    # a simulated run that programmed fewer states than the measured ones is said (a miss's first suspect)
    noted = "conditions: threshold-vs-weight: PCM states reached by program-and-verify:" in out[0]
    assert noted is CONDITIONS_NOTED[device_name(true)], out[0]
    default = check_rows(Path(__file__).resolve().parents[2] / "data" / "device_params.toml", held_out, tmp_path, out)
    assert "conditions:" not in out[1], out[1]  # the defaults program every state: a miss there is the threshold
    row = default["threshold_mean_V"]
    assert (row[7] == "NO") is DEFAULTS_MISS[device_name(true)], row
    assert float(row[5]) > 0 and (abs(float(row[4])) > 2 * float(row[5])) is DEFAULTS_MISS[device_name(true)]
    if device_name(true) == "slow-high":  # one measured cell: no spread of its own; the fallback is said
        out = []
        one = check_rows("mine.toml", held_out[:1], tmp_path, out)["threshold_mean_V"]
        assert one[8] == "(sim:" and one[9] == "1" and float(one[5]) > 0, one
        assert "fallback: 3 figure(s) marked 'sim' had fewer than two measured cells" in out[0]
        assert "sigma: the simulated cells' sample sigma: fewer than two measured cells" in out[0]


def test_check_predicts_that_the_resistive_cells_never_reach_the_learning_criterion_and_the_defaults_do_not(
    cells, fitted, tmp_path
):
    """Must-show 2, the learning loop (docs/fitting.md, "Held out: the learning loop"): its spikes to criterion and
    savings scatter from cell to cell more than between device files, so their mean is no verdict; whether a first
    training reaches the criterion is, compared as a share (first_reached). The resistive cells never reach it (0 of
    8 measured cells): the fitted file predicts that none of its simulated cells does (within), the defaults that
    every one does (caught: the 95 % interval of the shares' difference excludes 0 already on two measured cells)."""
    from procedures.learning_loop import LearningLoopProcedure
    from tspcm_lab.analysis.modelfit import check

    d, runs, true = cells
    if true is not DEVICES["resistive"]:
        pytest.skip("measured on the device whose cells do not learn (docs/scripts/held_out_learning.py)")
    held = [
        simulate(LearningLoopProcedure, {}, d / f"learning-loop_{seed}.h5", seed, d / "true.toml")[0]
        for seed in (11, 12)
    ]
    (tmp_path / "mine.toml").write_text(render(fitted))
    got = {}
    for label, device in (("fitted", tmp_path / "mine.toml"), ("defaults", DEFAULTS_FILE)):
        rows = {c.figure: c for c in check(device, held, seeds=3, workers=2)}
        first = rows["first_reached"]
        assert first.kind == "share" and first.n_measured == 2 and first.measured == 0.0 and first.failed == 0
        assert rows["pulses_first"].n_measured == 0 and rows["pulses_first"].within is None  # no count to compare
        got[label] = (first.yes_cells[1], first.n_predicted, first.within)
    assert got == {"fitted": (0, 6, True), "defaults": (6, 6, False)}, got


def test_simulated_runs_are_the_same_serially_in_a_process_pool_and_on_a_dask_cluster():
    """The loop's simulated runs (seeded) do not depend on where they run: here, two processes, or a real Dask
    LocalCluster (--scheduler)."""
    distributed = pytest.importorskip("distributed")
    from tspcm_lab.analysis.modelfit import Evaluator

    values = {"states": 1, "target_min_S": 2e-6, "target_max_S": 2e-6, "duration_s": 100.0, "reads": 6}
    jobs = [("retention", values, {"pcm.nu_drift": nu, "ts.vth_d2d_rel": 0.0}, 5, 0.0) for nu in (0.06, 0.09)]
    with Evaluator(1) as ev:
        serial = ev.map(jobs)
    assert all(not isinstance(r, Exception) for r in serial), serial
    assert serial[0][0]["nu_state0"] < serial[1][0]["nu_state0"]  # the parameter reaches the simulated cell
    with Evaluator(2) as ev:
        assert repr(ev.map(jobs)) == repr(serial)  # repr: NaN features compare equal
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        with Evaluator(scheduler=cluster.scheduler_address) as ev:
            assert ev.parallel == 2 and repr(ev.map(jobs)) == repr(serial)
