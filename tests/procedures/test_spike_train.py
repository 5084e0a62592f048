"""spike-train on the simulated bench: firing counted from the scope trace, and rising with conductance."""

import numpy as np
import pytest

import pyvisa_tspcm
from procedures.base import ParameterError
from procedures.library import SpikeTrain, calibrate_amplitude, confirm_amplitude, fire_train
from procedures.spike_train import SpikeTrainProcedure
from tspcm_lab import runner
from tspcm_lab.analysis.registry import get_analysis
from tspcm_lab.store import open_run


def run_procedure(cls, tmp_path, values, *, seed, bench="sim", sim_options=""):
    """Validate and run ``cls`` headless into a run file; (run, session spec)."""
    with runner.BenchSession.open(bench, seed=seed, sim_options=sim_options) as session:
        procedure = runner.build_procedure(cls, values, session)
        runner.validate(procedure)
        outcome = runner.execute(procedure, session, tmp_path / f"{cls.name}.h5", seed=seed)
        assert outcome.status == "completed", outcome.message
        assert outcome.off_problems == []
        return open_run(outcome.path), session.spec


def features(run):
    return {f.name: f.value for f in get_analysis(run.procedure)(run).features}


def test_events_counted_in_the_captured_trace_are_the_cells_own():
    """Firing events from the scope trace (current rising through 20 uA) are the model's own firings: at
    most one per spike, and every firing except one too short for the scope's 100 MHz at a spike's end."""
    with runner.BenchSession.open("sim", seed=11) as session:
        model = pyvisa_tspcm.get_bench(session.spec).model
        for amplitude in (1.8, 1.95):
            before = int(model.state.fire_count[0])
            response = fire_train(session.bench, SpikeTrain(amplitude, 100e-9, 2e-6, 10))
            fired_model = int(model.state.fire_count[0]) - before
            assert fired_model - 1 <= response.events <= fired_model
            assert response.events_per_spike.max() <= 1
        assert response.events > 0  # the 1.95 V train fired the cell
        fired = response.fired
        assert np.all(np.isfinite(response.delay_s[fired])) and np.all(response.delay_s[fired] < 100e-9)
        assert np.all(np.isnan(response.delay_s[~fired]))
        assert not session.bench.outputs_on()


def test_firing_rises_with_the_programmed_conductance(tmp_path):
    trains = 3
    run, _ = run_procedure(
        SpikeTrainProcedure,
        tmp_path,
        {"target_conductances_S": "1e-6, 20e-6", "trains": trains, "spike_amplitude_V": 1.25},
        seed=4,
    )
    c = run.columns
    assert list(c["State"]) == [0] * trains + [1] * trains
    g, p = c["Conductance (S)"], c["Firing probability"]
    low, high = c["State"] == 0, c["State"] == 1
    assert g[high].min() > 5 * g[low].max()
    assert p[high].mean() >= p[low].mean() + 0.2, (p[low], p[high])
    assert np.allclose(c["Firing rate (Hz)"], c["Firing events"] / (10 * 2e-6))
    f = features(run)
    assert f["probability_spearman_rho"] > 0.5 and f["probability_slope_per_decade"] > 0
    waves = run.waveforms
    trace = waves["state1_train0"][0]
    assert trace.y_label == "Current (A)" and trace.y.max() > 20e-6
    events = waves["state1_train0_events"][0]
    assert events.y.sum() == c["Firing events"][trains]
    assert "Two-point ON-branch read" in str(run.metadata["read_method"].value)  # the read is recorded


@pytest.mark.parametrize(
    "values, parameter",
    [
        ({"spike_amplitude_V": 6.0}, "spike_amplitude_V"),  # above the bench's 5 V pulse limit
        ({"spike_period_s": 100e-9}, "spike_period_s"),  # no room for a 100 ns spike
        ({"target_conductances_S": "1e-4, lots"}, "target_conductances_S"),
        ({"spike_waveform": "arb", "spike_width_s": 102e-9}, "spike_width_s"),  # not on the 4 ns arb grid
    ],
)
def test_invalid_parameters_are_refused_before_any_output(values, parameter):
    with runner.BenchSession.open("sim", seed=1) as session:
        sim = pyvisa_tspcm.get_bench(session.spec)
        t0 = sim.model.t_s
        procedure = runner.build_procedure(SpikeTrainProcedure, values, session)
        with pytest.raises(ParameterError) as err:
            procedure.validate()
        assert err.value.parameter == parameter and parameter in str(err.value)
        assert not any(src.enabled for src in sim.sources.values())
        assert sim.model.t_s == t0 and sim.model.state.fire_count[0] == 0  # nothing reached the cell


def test_arbitrary_spike_train_gives_the_same_response_as_the_pulse_train(tmp_path):
    run, _ = run_procedure(
        SpikeTrainProcedure,
        tmp_path,
        {
            "spike_waveform": "arb",
            "trains": 2,
            "spike_amplitude_V": 1.4,
            "target_conductances_S": "20e-6",
            "store_traces": False,
        },
        seed=4,
    )
    assert np.all(run.columns["Firing probability"] >= 0.8)
    assert run.waveforms == {}


def test_calibration_ladder_goes_coarse_then_fine_and_stops_at_the_first_amplitude_that_fires():
    """The ladder against a device whose firing is known: 3 of 20 spikes fire from 1.73 V up."""
    played = []

    def device(amplitude_V):
        played.append(amplitude_V)
        return 3 if amplitude_V >= 1.73 - 1e-9 else 1

    cal = calibrate_amplitude(device, start_v=1.6, stop_v=2.2, step_v=0.01, coarse_steps=5, min_fires=2)
    assert cal.amplitude_V == pytest.approx(1.73) and cal.found
    assert played == pytest.approx([1.6, 1.65, 1.7, 1.75, 1.71, 1.72, 1.73]) == cal.amplitudes_V
    assert cal.fired == [1, 1, 1, 3, 1, 1, 3]
    # firing from below the start: the fine steps go below it
    assert calibrate_amplitude(lambda a: 5, start_v=1.6, stop_v=2.2, step_v=0.01).amplitude_V == pytest.approx(1.56)
    # never enough: NaN after the whole coarse ladder
    none = calibrate_amplitude(lambda a: 1, start_v=1.6, stop_v=2.2, step_v=0.01)
    assert not none.found and none.amplitudes_V[-1] == pytest.approx(2.2) and len(none.fired) == 13
    # the confirmation: from 30 mV above, 40-spike trains until one fires on >= 10 % (4 spikes)
    confirm_amplitude(
        cal,
        lambda a, n: n // 20 if a < 1.79 - 1e-9 else n // 5,
        start_v=1.76,
        stop_v=2.23,
        step_v=0.01,
        spikes=40,
        min_fraction=2 / 20,
    )
    assert cal.operating_V == pytest.approx(1.79) and cal.confirmed
    assert cal.amplitudes_V[7:] == pytest.approx([1.76, 1.77, 1.78, 1.79]) and cal.played[7:] == [40] * 4
    assert cal.fired[7:] == [2, 2, 2, 8] and cal.amplitude_V == pytest.approx(1.73)  # the ladder's, kept
    # two trains must each fire enough: a device that fires on every other train never passes
    flip = iter([3, 0] * 50)
    assert not calibrate_amplitude(lambda a: next(flip), start_v=1.6, stop_v=1.7, step_v=0.01, trains=2).found
