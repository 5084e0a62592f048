"""The key figures a run prints (tspcm run, tspcm runs, tspcm demo, the GUI's caption)."""

import math

from tspcm_lab.keyfigures import figures


def test_a_neurosim_a_is_shown_with_its_fit_s_r2():
    """A from a fit that explains little (the demo cell's abrupt RESET: R^2 0.29) is shown with that R^2, so that
    "A (depression) 6e+03 pulses" is not read as a nonlinearity; without an R^2 the figure is shown alone."""
    feats = {"p_a_pulses": 19.7, "p_fit_r2": 0.617, "d_a_pulses": 6000.0, "d_fit_r2": 0.287, "p_dynamic_range": 12.0}
    assert figures("pulse-train", feats) == (
        "NeuroSim A (potentiation) 19.7 pulses (fit R² 0.62); A (depression) 6e+03 pulses (fit R² 0.29); Gmax/Gmin 12"
    )
    feats["d_fit_r2"] = math.nan
    assert "A (depression) 6e+03 pulses; " in figures("pulse-train", feats)
