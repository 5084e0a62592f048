"""threshold-vs-weight on the simulated bench: the firing threshold falls as the PCM conductance rises."""

import numpy as np
import pytest

import pyvisa_tspcm
from procedures.base import ParameterError
from procedures.threshold_vs_weight import ThresholdVsWeightProcedure
from tspcm_lab import runner
from tspcm_lab.analysis.registry import get_analysis
from tspcm_lab.store import open_run


def test_threshold_falls_as_conductance_rises(tmp_path):
    with runner.BenchSession.open("sim", seed=51) as session:
        model = pyvisa_tspcm.get_bench(session.spec).model
        procedure = runner.build_procedure(
            ThresholdVsWeightProcedure,
            {"states": 3, "target_min_S": 1.2e-6, "target_max_S": 30e-6, "repeats": 6},
            session,
        )
        runner.validate(procedure)
        outcome = runner.execute(procedure, session, tmp_path / "tvw.h5", seed=51)
        assert outcome.status == "completed", outcome.message
        threshold_model_last = model.cell_threshold_v()[0]
    run = open_run(outcome.path)
    c = run.columns
    g, vth = c["Conductance (S)"], c["Threshold (V)"]
    first, last = c["State"] == 0, c["State"] == c["State"].max()
    assert np.all(c["Converged"] == 1) and np.all(np.diff(g[c["Repeat"] == 0]) > 0)
    assert g[last].mean() > 10 * g[first].mean()
    # more crystalline: lower threshold (the DC switching voltage), by the voltage division's i_th / G
    assert vth[first].mean() - vth[last].mean() > 0.025, vth
    assert vth[-1] == pytest.approx(threshold_model_last, abs=0.05)  # the model's own cell threshold
    assert np.allclose(c["Conductance after (S)"], g, rtol=0.1)  # measuring did not reprogram the cell
    features = {f.name: f.value for f in get_analysis("threshold-vs-weight")(run).features}
    # each threshold also carries the cycle-to-cycle spread (amplified by the same voltage division)
    assert features["threshold_spearman_rho"] < -0.3 and features["threshold_slope_V_per_decade"] < 0


def test_inverted_target_range_refused_before_any_output():
    with runner.BenchSession.open("sim", seed=52) as session:
        sim = pyvisa_tspcm.get_bench(session.spec)
        t0 = sim.model.t_s
        procedure = runner.build_procedure(
            ThresholdVsWeightProcedure, {"target_min_S": 1e-4, "target_max_S": 5e-5}, session
        )
        with pytest.raises(ParameterError) as err:
            procedure.validate()
        assert err.value.parameter == "target_max_S" and "target_min_S" in str(err.value)
        assert not any(src.enabled for src in sim.sources.values()) and sim.model.t_s == t0
