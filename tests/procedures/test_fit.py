"""tspcm fit round trip: runs simulated on a cell with known NON-default parameters (two cells: two seeds)
are fitted back; every parameter the runs identify lies within its reported 95 % interval, the written file
loads and drives the simulated bench. Bad input is refused with what is missing, and no file is written."""

import shutil
import subprocess
import sys

import h5py
import pytest

import pyvisa_tspcm
from procedures.delay_recovery import DelayRecoveryProcedure
from procedures.iv_sweep import IVSweepProcedure
from procedures.retention import RetentionProcedure
from sim_backend.params import DeviceParams
from tspcm_lab import runner
from tspcm_lab.analysis.devicefit import fit_runs, render

TRUE = {"ts.vth_v": 1.35, "ts.vhold_v": 0.6, "ts.r_on_ohm": 7000.0, "ts.t_d0_s": 2e-7,
        "ts.v0_delay_v": 0.08, "ts.tau_recovery_s": 6e-7, "pcm.nu_drift": 0.07}
RUNS = [(IVSweepProcedure, {"cycles": 6, "compliance_A": 100e-6}),
        (DelayRecoveryProcedure, {}),
        (RetentionProcedure, {"states": 2, "target_min_S": 1e-6, "target_max_S": 5e-6, "duration_s": 1e4,
                              "reads": 25})]


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


@pytest.fixture(scope="module")
def cells(tmp_path_factory):
    """Two cells (seeds 11, 12) of the non-default device, each measured by iv-sweep, delay-recovery, retention."""
    d = tmp_path_factory.mktemp("fit")
    device = device_file(d / "true.toml", TRUE)
    out = {}
    for seed in (11, 12):
        out[seed] = [simulate(cls, values, d / f"{cls.name}_{seed}.h5", seed, device) for cls, values in RUNS]
    return d, out


def test_two_cells_are_fitted_back_within_their_intervals(cells, tmp_path):
    d, runs = cells
    paths = [p for seed in (11, 12) for p, _ in runs[seed]]
    res = fit_runs(paths, cells=["A"] * 3 + ["B"] * 3)
    assert set(res.params) == set(TRUE) | {"ts.vth_d2d_rel"}
    for name, true in TRUE.items():
        f = res.params[name]
        assert f.n_cells == 2 and f.interval is not None, name
        assert f.interval[0] <= true <= f.interval[1], (name, true, f)
        if name != "ts.t_d0_s":  # t_d0 moves by exp(dVth/V0) with the run's threshold: interval only
            assert f.value == pytest.approx(true, rel=0.2), (name, f.value)
    # the device-to-device spread is the cells' own: their drawn thresholds' spread lies in its interval
    drawn = [vth for seed in (11, 12) for _, vth in runs[seed][:1]]
    lo, hi = res.params["ts.vth_d2d_rel"].interval
    assert lo <= abs(drawn[0] - drawn[1]) / 2 ** 0.5 / (sum(drawn) / 2) <= hi
    # the written file is a device file: it loads with the fitted values and drives the simulated bench
    out = tmp_path / "mydevice.toml"
    out.write_text(render(res))
    params = DeviceParams.load(out)
    for name in TRUE:
        assert params[name] == res.params[name].value
        assert params.provenance[name]["basis"] == "fitted"
        assert "iv-sweep" in params.provenance[name]["source"] or name not in ("ts.vth_v", "ts.vhold_v")
    path, vth = simulate(IVSweepProcedure, {"cycles": 2, "compliance_A": 100e-6}, tmp_path / "iv.h5", 5, out)
    assert vth == pytest.approx(res.params["ts.vth_v"].value, rel=0.25)  # drawn around the fitted ts.vth_v


def test_one_cell_parameters_with_a_statistical_interval_contain_the_cells_values(cells):
    """One cell: Vth is its own drawn threshold, and Vhold, V0, nu (no device-to-device spread in the
    model) the configured ones. The one-run intervals of R_on and tau_rec come from the spread over cycles and
    the fit's standard error, which do not cover the method's bias (docs/fitting.md): checked at 20 %."""
    d, runs = cells
    for seed in (11, 12):
        res = fit_runs([p for p, _ in runs[seed]])
        vth = runs[seed][0][1]
        checks = {"ts.vth_v": vth, "ts.vhold_v": TRUE["ts.vhold_v"], "ts.v0_delay_v": TRUE["ts.v0_delay_v"],
                  "pcm.nu_drift": TRUE["pcm.nu_drift"]}
        for name, true in checks.items():
            lo, hi = res.params[name].interval
            assert lo <= true <= hi, (seed, name, true, res.params[name])
        assert res.params["ts.r_on_ohm"].value == pytest.approx(TRUE["ts.r_on_ohm"], rel=0.2)
        assert res.params["ts.tau_recovery_s"].value == pytest.approx(TRUE["ts.tau_recovery_s"], rel=0.2)
        assert res.params["ts.t_d0_s"].interval is None  # no standard error from one run: said, not invented
        assert any("ts.vth_d2d_rel" in t for t in res.not_identified)


def tspcm(*args, cwd):
    return subprocess.run([sys.executable, "-m", "tspcm_lab", *args], cwd=cwd, capture_output=True, text=True)


def test_cli_writes_the_device_file_and_refuses_bad_input(cells, tmp_path):
    d, runs = cells
    iv, dr, ret = (p for p, _ in runs[11])
    r = tspcm("fit", str(iv), str(dr), str(ret), "-o", "my.toml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "ts.vth_v" in r.stdout and (tmp_path / "my.toml").exists()
    DeviceParams.load(tmp_path / "my.toml")

    # wrong procedure: named, with the procedures the fit uses; no file
    wrong = tmp_path / "wrong.h5"
    shutil.copy(iv, wrong)
    with h5py.File(wrong, "a") as h5:
        h5.attrs["procedure"] = "learning-loop"
    r = tspcm("fit", str(iv), str(wrong), "-o", "no1.toml", cwd=tmp_path)
    assert r.returncode == 2 and "learning-loop" in r.stderr and "iv-sweep" in r.stderr
    assert not (tmp_path / "no1.toml").exists()

    # nothing identifiable: retention of SET-side states only (the crystalline series part hides the drift)
    set_side, _ = simulate(RetentionProcedure, {"states": 2, "target_min_S": 1e-4, "target_max_S": 2e-4,
                                                "duration_s": 100.0, "reads": 5}, tmp_path / "set.h5", 3,
                           d / "true.toml")
    r = tspcm("fit", str(set_side), "-o", "no2.toml", cwd=tmp_path)
    assert r.returncode == 2 and "nothing identifiable" in r.stderr and "pcm.nu_drift" in r.stderr
    assert not (tmp_path / "no2.toml").exists()

    # a cell label per run, or a refusal
    r = tspcm("fit", str(iv), str(dr), "--cells", "A", "-o", "no3.toml", cwd=tmp_path)
    assert r.returncode == 2 and "--cells" in r.stderr and not (tmp_path / "no3.toml").exists()
