"""The procedure library (procedures.library) on the simulated bench: the read against the model, programming, firing counts, clock."""

import numpy as np
import pytest

import pyvisa_tspcm
from procedures import library as common
from tspcm_lab import runner


def test_read_matches_the_model_within_its_stated_accuracy():
    """Over its range (~0.7 uS to the crystalline end) the two-point ON-branch read is the PCM's own
    conductance within 10 %; below it the read is NaN with the reason, never a wrong number."""
    with runner.BenchSession.open("sim", seed=21) as session:
        model = pyvisa_tspcm.get_bench(session.spec).model
        for u in (1.0, 0.5, 0.12, 0.05, 0.01, 0.003, 0.001, 0.0003):
            model.set_state(u=u)
            truth = model.pcm_conductance_s()[0]
            read = common.read_conductance(session.bench)
            if truth < 0.5e-6:
                assert np.isnan(read.conductance_S) and "below the read range" in read.reason, (u, truth, read)
            else:
                assert abs(read.conductance_S / truth - 1) < 0.10, (u, truth, read)
            assert model.amorphous_fraction()[0] == pytest.approx(u, rel=1e-3, abs=1e-9)  # the read did not program
            assert read.series_resistance_ohm == 1050.0  # from the bench file
        assert not session.bench.outputs_on()


def test_a_read_with_the_wrong_switch_resistance_gives_what_tspcm_fit_warns_of():
    """A cell whose switch has R_on = 8 kOhm read with the default read_ts_on_resistance_ohm (5 kOhm): each read
    is 1/(1/G + 3 kOhm), G the read with the right setting, so it never exceeds 333 uS (the note of
    tspcm_lab.analysis.devicefit.read_setting_notes), while the right setting reads the model's own G."""
    with runner.BenchSession.open("sim", seed=23, sim_options="ts.r_on_ohm=8000") as session:
        model = pyvisa_tspcm.get_bench(session.spec).model
        for u in (0.003, 0.001, 0.0003, 0.0):  # 33 uS to the crystalline end's 2 mS
            model.set_state(u=u)
            truth = model.pcm_conductance_s()[0]
            right = common.read_conductance(session.bench, ts_on_resistance_ohm=8000.0).conductance_S
            default = common.read_conductance(session.bench).conductance_S
            # the read's own accuracy: 10 %, towards the crystalline end that of R_on,TS (the cell's own R_on)
            assert abs(right / truth - 1) < (0.10 if u else 0.15), (u, truth, right)
            assert default == pytest.approx(1.0 / (1.0 / right + 3000.0), rel=0.05), (u, right, default)
            assert default < 1.0 / 3000.0
        assert truth > 1e-3 > 1.0 / 3000.0 > default  # the crystalline end reads below the cap


def test_program_to_target_converges_and_reset_returns_to_amorphous():
    with runner.BenchSession.open("sim", seed=22) as session:
        model = pyvisa_tspcm.get_bench(session.spec).model
        result = common.program_to_target(session.bench, 10e-6)
        assert result.converged and 8e-6 <= result.conductance_S <= 12e-6, result
        assert abs(model.pcm_conductance_s()[0] / 10e-6 - 1) < 0.2
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
        clock = session.bench.clock
        assert clock.virtual
        t0 = clock.now_s()
        assert clock.wait(1e4)
        assert clock.now_s() - t0 == pytest.approx(1e4)
        assert not clock.wait(10, should_stop=lambda: True)


def test_firing_events_match_the_sample_by_sample_detector():
    """The vectorised detector finds exactly the events of the plain state machine it replaced, on
    traces with every mix of above / in-between / below samples and starts."""

    def one_by_one(current, threshold, rearm=0.5):
        i = np.abs(current)
        events, armed = [], not i[0] >= threshold
        for k, x in enumerate(i):
            if x >= threshold:
                if armed:
                    events.append(k)
                    armed = False
            elif x < rearm * threshold:
                armed = True
        return events

    rng = np.random.default_rng(12)
    for _ in range(3000):
        trace = rng.choice([0.0, 0.3e-6, 0.6e-6, 1e-6, 1.5e-6, -2e-6], size=int(rng.integers(1, 25)))
        assert common.rising_edges(trace, 1e-6).tolist() == one_by_one(trace, 1e-6), trace


def test_first_crossing_per_window_matches_a_scan_of_each_window():
    from procedures.library.events import first_after_s

    rng = np.random.default_rng(3)
    for _ in range(2000):
        t = np.sort(rng.choice(np.arange(40) * 0.25e-6, size=int(rng.integers(0, 10)), replace=False))
        starts = np.arange(int(rng.integers(0, 12))) * 1e-6
        expected = [next((x - s for x in t if s <= x < s + 1e-6), np.nan) for s in starts]
        np.testing.assert_array_equal(first_after_s(t, starts, 1e-6), expected)


def test_column_units_known_without_pint_are_the_ones_pint_reads():
    """Procedures skip Pint's unit check for the units in KNOWN_COLUMN_UNITS: each must be one Pint
    (with the "Ohm" alias) reads, and every registered procedure's columns pass Pint's check."""
    from pymeasure.experiment import Procedure
    from pymeasure.units import ureg

    from procedures.base import KNOWN_COLUMN_UNITS, TspcmProcedure
    from tspcm_lab import plugins

    for unit in KNOWN_COLUMN_UNITS:
        ureg.Quantity(unit)  # UndefinedUnitError if not
    assert ureg.Quantity("1 Ohm") == ureg.Quantity("1 ohm")
    for name in plugins.names():
        cls = plugins.load_procedure(name)
        columns = list(cls.DATA_COLUMNS)
        assert dict(TspcmProcedure.parse_columns(columns)) == Procedure.parse_columns(columns), name

    class Odd(TspcmProcedure):
        DATA_COLUMNS = ["Flux (blorbs)"]

    with pytest.raises(ValueError, match="blorbs"):
        Odd()
