"""procedures.common on the simulated bench: the read against the model, programming, firing counts, clock."""

import numpy as np
import pytest

import pyvisa_tspcm
from procedures import common
from tspcm_lab import runner


def test_read_matches_the_model_within_its_stated_accuracy():
    """Above ~25 uS the read is within 15 % of the model's own conductance (low by the TS on-resistance);
    fully amorphous it reads the ~20 uS ON state, as documented."""
    with runner.BenchSession.open("sim", seed=21) as session:
        model = pyvisa_tspcm.get_bench(session.spec).model
        first = common.read_conductance(session.bench)
        assert model.pcm_conductance_s()[0] < 3e-6 and 15e-6 < first.conductance_S < 30e-6
        checked = 0
        for _ in range(8):
            common.set_pulse(session.bench, count=5, period_s=1.2e-6)
            read = common.read_conductance(session.bench)
            truth = model.pcm_conductance_s()[0]
            if truth > 25e-6:
                assert abs(read.conductance_S / truth - 1) < 0.15, (read, truth)
                checked += 1
            assert read.series_resistance_ohm == 1050.0  # from the bench file
        assert checked >= 4 and truth > 60e-6
        assert not session.bench.outputs_on()


def test_program_to_target_converges_and_reset_returns_to_amorphous():
    with runner.BenchSession.open("sim", seed=22) as session:
        model = pyvisa_tspcm.get_bench(session.spec).model
        result = common.program_to_target(session.bench, 80e-6)
        assert result.converged and 68e-6 <= result.conductance_S <= 92e-6
        assert abs(model.pcm_conductance_s()[0] / 80e-6 - 1) < 0.25
        common.reset_pulse(session.bench)
        assert model.amorphous_fraction()[0] > 0.95


def test_firing_events_are_rising_edges_with_hysteresis():
    i = np.array([0, 1, 30, 31, 29, 30, 2, 0, 40, 0, 25, 12, 26]) * 1e-6
    assert common.rising_edges(i, 20e-6).tolist() == [2, 8, 10]  # 12 uA is above 10 uA: not re-armed
    assert common.count_firing_events(i, 20e-6, rearm_fraction=0.7) == 4
    assert common.count_firing_events(np.full(5, 50e-6), 20e-6) == 0  # starts above: no edge
    t = np.arange(i.size) * 1e-9
    assert common.events_per_window(t, i, 20e-6, [0, 5e-9, 10e-9], 5e-9).tolist() == [1, 1, 1]
    with pytest.raises(ValueError, match="threshold_a"):
        common.rising_edges(i, 0)


def test_virtual_clock_waits_in_virtual_time():
    with runner.BenchSession.open("sim", seed=23) as session:
        clock = common.bench_clock(session.bench)
        assert clock.virtual
        t0 = clock.now_s()
        assert clock.wait(1e4)
        assert clock.now_s() - t0 == pytest.approx(1e4)
        assert not clock.wait(10, should_stop=lambda: True)
