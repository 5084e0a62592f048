"""tspcm fit of the PCM's SET/RESET kinetics from pulse-train runs (modelfit.LOOPS["pulse-train"]): two cells of
a device with known non-default kinetics are fitted back within the reported intervals; a pulse-train whose
reads never leave the read's floor is refused with what is missing, and no file is written."""

import subprocess
import sys

import pytest

from procedures.pulse_train import PulseTrainProcedure
from tspcm_lab import runner
from tspcm_lab.analysis.devicefit import FitError, fit_runs
from tspcm_lab.analysis.modelfit import LOOPS, pulse_train_features
from tspcm_lab.store import open_run

#: slower crystallization at the kinetic ceiling, a steeper JMAK curve and a cooler cell than the defaults
#: (1e6 1/s, 2.5, 5e6 K/W): on the default train its SET starts at pulse ~9-10 and it RESETs at the 6th-7th
#: depression pulse
TRUE = {"pcm.k_cryst_max_per_s": 7e5, "pcm.jmak_n": 3.0, "pcm.r_th_k_per_w": 4.8e6}


def device_file(path, values):
    lines = [f"{name.split('.', 1)[1]} = {v!r}" for name, v in values.items()]
    path.write_text("[pcm]\n" + "\n".join(lines) + "\n")
    return path


def simulate(values, path, seed, device=None):
    with runner.BenchSession.open("sim", seed=seed, sim_options=f"device={device}" if device else "") as session:
        procedure = runner.build_procedure(PulseTrainProcedure, values, session)
        runner.validate(procedure)
        outcome = runner.execute(procedure, session, path, seed=seed)
    assert outcome.status == "completed", outcome.message
    return outcome.path


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_two_cells_kinetics_are_fitted_back_within_their_intervals(tmp_path):
    """Must-show 1 for the pulse-train loop: every kinetic parameter identified, its interval containing the
    true value (two cells, the default train with 4 cycles; ~50 simulated runs per cell)."""
    device = device_file(tmp_path / "true.toml", TRUE)
    paths = [simulate({"cycles": 4}, tmp_path / f"pt_{seed}.h5", seed, device) for seed in (11, 12)]
    res = fit_runs(paths, cells=["A", "B"], workers=2)
    for name, true in TRUE.items():
        f = res.params[name]
        assert f.identified and f.interval is not None, (name, res.not_identified)
        assert f.interval[0] <= true <= f.interval[1], (name, true, f.value, f.interval)
        assert f.n_cells == 2 and set(f.per_cell) == {"A", "B"}
        assert "pulse-train" in f.method and "set_pulses_to_3uS" in f.method
    # what the runs do not measure is said, not fitted
    assert any("pcm.tau_cryst_ref_s" in t for t in res.not_identified)
    assert "pcm.tau_cryst_ref_s" not in res.params


def test_the_features_read_the_set_onset_rise_and_reset_within_the_reads_range(tmp_path):
    """The default cell's default train: SET from below the read's floor to its plateau in a few pulses, then
    an abrupt RESET; each feature a pulse count with the cycles' scatter."""
    run = open_run(simulate({}, tmp_path / "pt.h5", 1))
    f = pulse_train_features(run, None)
    assert set(f) == {
        "set_pulses_to_3uS",
        "set_pulses_3uS_to_30uS",
        "set_pulses_30uS_to_300uS",
        "reset_pulses_below_30uS",
    }
    onset, sigma = f["set_pulses_to_3uS"]
    assert 3 < onset < 15 and sigma >= 1.0 / 2**0.5  # two cycles, at least a pulse each
    assert 0 < f["set_pulses_3uS_to_30uS"][0] < 4 and 0 < f["set_pulses_30uS_to_300uS"][0] < 4
    assert 1 <= f["reset_pulses_below_30uS"][0] <= 12


def test_a_pulse_train_below_the_reads_floor_is_refused_naming_what_is_missing(tmp_path):
    """Must-show 4: a SET train too weak to lift G above the read's floor gives no feature: one line naming
    the parameters and what the run needs, exit 2, no device file."""
    low = simulate(
        {"set_amplitude_V": 1.2, "cycles": 1, "potentiation_pulses": 5, "depression_pulses": 2},
        tmp_path / "low.h5",
        3,
    )
    with pytest.raises(FitError, match="too few measurements") as exc:
        fit_runs([low])
    assert "pcm.k_cryst_max_per_s" in str(exc.value) and LOOPS["pulse-train"].needs in str(exc.value)
    r = subprocess.run(
        [sys.executable, "-m", "tspcm_lab", "fit", str(low), "-o", "no.toml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and not (tmp_path / "no.toml").exists()
    assert "\n" not in r.stderr.strip() and "3 uS" in r.stderr
