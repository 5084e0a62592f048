"""NeuroSim fit and plasticity figures of merit on synthetic pulse trains with known A."""

import math

import numpy as np
import pytest

from tspcm_lab.analysis import plasticity as pl
from tspcm_lab.analysis.synthetic import pulse_train

A_P, A_D = 20.0, 12.0
#: "realistic" read noise: Gaussian, sigma = 2 % of the conductance range, on every read
REALISTIC = 0.02


def test_model_runs_from_gmin_to_gmax():
    p = np.array([0.0, 64.0])
    assert pl.neurosim_conductance(p, 15, 1e-5, 1e-4, 64, pl.POTENTIATION) == pytest.approx([1e-5, 1e-4])
    assert pl.neurosim_conductance(p, 15, 1e-5, 1e-4, 64, pl.DEPRESSION) == pytest.approx([1e-4, 1e-5])


def test_noise_free_fit_recovers_a_within_5_percent():
    p, c, ph, g = pulse_train(a_p=A_P, a_d=A_D)
    res = pl.analyze_plasticity(p, g, ph, c)
    pot, dep = res.phases[pl.POTENTIATION], res.phases[pl.DEPRESSION]
    assert pot.fit.a == pytest.approx(A_P, rel=0.05)
    assert dep.fit.a == pytest.approx(A_D, rel=0.05)
    assert pot.fit.a_over_pmax == pytest.approx(A_P / 64, rel=0.05)
    assert pot.fit.g_min_S == pytest.approx(1e-5, rel=1e-3)
    assert pot.fit.g_max_S == pytest.approx(1e-4, rel=1e-3)
    assert pot.fit.dynamic_range == pytest.approx(10, rel=1e-3)
    assert pot.fit.r2 > 0.9999
    assert res.asymmetry == pytest.approx(abs(A_P - A_D) / (A_P + A_D), rel=0.05)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_realistic_noise_fit_within_20_percent(seed):
    p, c, ph, g = pulse_train(a_p=A_P, a_d=A_D, noise_fraction=REALISTIC, rng=np.random.default_rng(seed))
    res = pl.analyze_plasticity(p, g, ph, c)
    for phase, a in ((pl.POTENTIATION, A_P), (pl.DEPRESSION, A_D)):
        r = res.phases[phase]
        assert r.fit.a == pytest.approx(a, rel=0.20)
        assert abs(r.fit.a - a) < 4 * r.fit.a_stderr + 0.05 * a  # the standard error is honest
        assert r.sigma_source == "cycle-to-cycle"
        assert r.sigma_percent_of_range == pytest.approx(100 * REALISTIC, rel=0.25)
        assert len(r.cycle_fits) == 3


def test_distinguishable_states_definition():
    levels = np.linspace(0, 1, 101)
    assert pl.distinguishable_states(levels, 0.1, k_sigma=3) == 4  # 0, 0.3, 0.6, 0.9
    assert pl.distinguishable_states(levels, 0.0) == 101
    p, c, ph, g = pulse_train(noise_fraction=REALISTIC)
    r = pl.analyze_plasticity(p, g, ph, c).phases[pl.POTENTIATION]
    # range / (3 sigma) + 1 is the upper bound, approached less closely on a saturating curve
    assert 8 <= r.states <= 1 / (3 * REALISTIC) + 1


def test_one_cycle_uses_fit_residual_noise():
    p, c, ph, g = pulse_train(cycles=1, noise_fraction=REALISTIC)
    r = pl.analyze_plasticity(p, g, ph, c).phases[pl.POTENTIATION]
    assert r.sigma_source == "fit residual"
    assert r.sigma_percent_of_range == pytest.approx(100 * REALISTIC, rel=0.3)


def test_split_segments_with_global_pulse_counter():
    p, c, ph, g = pulse_train(pulses=10, cycles=2)
    global_p = np.arange(p.size)
    segs = pl.split_segments(global_p, g, ph, c)
    assert [(s.cycle, s.phase) for s in segs] == [(0, 1), (0, -1), (1, 1), (1, -1)]
    assert all(s.pulse[0] == 0 and s.pulse[-1] == 10 for s in segs)
    with pytest.raises(ValueError, match="phase"):
        pl.split_segments([0, 1], [1, 2], [1, 0])


def test_too_few_points_is_an_error():
    with pytest.raises(ValueError, match="at least 4"):
        pl.fit_neurosim([0, 1], [1e-5, 2e-5])
    assert math.isnan(pl.PlasticityResult().asymmetry)


def test_reads_below_range_shift_the_fit_and_the_figure_draws_it_where_the_data_are():
    """A SET from the RESET state: the first reads fall below the read range (NaN). The fit counts P from
    the first finite read, says so (p_offset), and the figure draws the curve over those reads on a log
    axis (the conductances span three decades)."""
    from tspcm_lab.analysis import plots

    pulse = np.arange(20.0)
    g = pl.neurosim_conductance(pulse - 5, A_P / 4, 1e-6, 1e-3, 14, pl.POTENTIATION)
    g[:5] = np.nan
    res = pl.analyze_plasticity(pulse, g, np.ones(20), np.zeros(20))
    fit = res.phases[pl.POTENTIATION].fit
    assert fit.p_offset == 5 and fit.a == pytest.approx(A_P / 4, rel=0.05)
    segs = pl.split_segments(pulse, g, np.ones(20), np.zeros(20))
    ax = plots.plasticity_figure(res, segs).axes[0]
    assert ax.get_yscale() == "log"
    (curve,) = [ln for ln in ax.lines if ln.get_linestyle() == "-" and len(ln.get_xdata()) > 2]
    x, y = curve.get_xdata(), curve.get_ydata()
    assert x[0] == 5 and x[-1] == 19
    assert np.interp(pulse[5:], x, y) == pytest.approx(g[5:], rel=0.02)
