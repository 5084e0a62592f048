"""Intrinsic plasticity trends, learning-loop counts, savings and pattern accuracy."""

import math

import numpy as np
import pytest

from tspcm_lab.analysis import intrinsic, learning


def test_threshold_falls_with_conductance():
    rng = np.random.default_rng(0)
    g = np.logspace(-6, -4, 12)
    vth = 1.6 - 0.2 * np.log10(g / 1e-6) + 0.005 * rng.standard_normal(g.size)
    tr = intrinsic.threshold_vs_conductance(g, vth)
    assert tr.spearman_rho == pytest.approx(-1.0)
    assert tr.spearman_p < 1e-3
    assert tr.best_fit == "log"
    assert tr.log.slope == pytest.approx(-0.2, rel=0.05)  # V per decade
    assert tr.linear.slope < 0
    assert tr.response_units == "V"


def test_firing_probability_and_rate():
    g = np.linspace(1e-5, 1e-4, 10)
    tr = intrinsic.firing_probability_vs_conductance(g, np.linspace(0.1, 0.9, 10))
    assert tr.spearman_rho == pytest.approx(1.0) and tr.best_fit == "linear"
    assert tr.linear.slope == pytest.approx(0.8 / 9e-5)
    with pytest.raises(ValueError, match="probability"):
        intrinsic.firing_probability_vs_conductance(g, np.linspace(0, 2, 10))
    assert intrinsic.firing_rate_vs_conductance(g, 1e3 * g / 1e-5).response_units == "Hz"


def test_count_to_criterion_and_savings():
    n = np.arange(1, 11)
    prob = np.array([0, 0, 0.1, 0.3, 0.5, 0.7, 0.9, 0.95, 1, 1])
    assert learning.count_to_criterion(n, prob, 0.9) == 7
    assert math.isnan(learning.count_to_criterion(n, prob * 0.5, 0.9))
    assert learning.count_to_criterion(n, 10 - n, 3, rising=False) == 7
    assert learning.savings(40, 10) == pytest.approx(0.75)
    assert learning.savings(10, 15) == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="n_first"):
        learning.savings(0, 3)


def test_pattern_accuracy_per_epoch():
    target = learning.parse_pattern("1001/0110/0110/1001")
    assert target.shape == (4, 4) and target.sum() == 8
    lo, hi = 1e-6, 1e-4
    maps = []
    for epoch in range(4):  # one more learned cell-pair per epoch
        m = np.full((4, 4), lo)
        on = np.argwhere(target)[: 2 * (epoch + 1)]
        m[tuple(on.T)] = hi
        maps.append(m)
    acc = learning.accuracy_per_epoch(maps, target)
    assert acc == pytest.approx([10 / 16, 12 / 16, 14 / 16, 1.0])
    assert learning.default_threshold(maps) == pytest.approx(1e-5)
    assert learning.count_to_criterion(np.arange(1, 5), acc, 1.0) == 4
    with pytest.raises(ValueError, match="pattern"):
        learning.parse_pattern("10/1")
    with pytest.raises(ValueError, match="shape"):
        learning.pattern_accuracy(np.zeros((3, 3)), target, 1e-5)


def test_spearman_and_t_quantile_equal_scipy_stats_to_the_last_bit():
    """The extractors' Spearman rho and p-value and Student-t quantile (from scipy.special, without importing
    scipy.stats) give scipy.stats' numbers exactly: ties, perfect (anti-)correlation, few and many points."""
    import numpy as np
    from scipy import stats

    from procedures.library.fitting import spearman, student_t_quantile

    rng = np.random.default_rng(12)
    cases = [(np.arange(5.0), np.arange(5.0)), (np.arange(5.0), -np.arange(5.0)), ([1, 2, 2, 3], [4, 4, 1, 0])]
    for k in range(300):
        n = int(rng.integers(3, 40))
        x = rng.normal(size=n)
        y = 0.5 * x + rng.normal(size=n)
        cases.append((np.round(x, 1), np.round(y)) if k % 2 else (x, y))
    compared = 0
    for x, y in cases:
        if np.ptp(x) == 0 or np.ptp(y) == 0:
            continue
        ref = stats.spearmanr(x, y)
        assert spearman(x, y) == (float(ref.statistic), float(ref.pvalue)), (x, y)
        compared += 1
    assert compared > 250
    for df in (1, 2, 7, 30, 1000):
        for q in (0.975, 0.995, 0.5):
            assert student_t_quantile(q, df) == stats.t.ppf(q, df)
