"""What the compact model keeps of the device model, and what it leaves out (shared by both exports).

The compact model has the Python model's deterministic equations (sim_backend/elements.py and the stepper
in sim_backend/kernel.py) with the random parts at their mean: the switching delay fires when the
integrated progress reaches 1 (the mean of the Poisson draw), no device-to-device or cycle-to-cycle
spread, no programming, RESET or read noise. Ageing (endurance, damage) is left out.
"""

from __future__ import annotations

from sim_backend.params import SCHEMA

#: spreads and noise the compact model leaves out (it is deterministic): zero in the Python reference it is
#: validated against
NOISE_OFF = (
    "ts.vth_c2c_rel",
    "ts.vth_d2d_rel",
    "pcm.r_d2d_rel",
    "pcm.vt_c2c_rel",
    "pcm.sigma_prog_rel",
    "pcm.sigma_reset_rel",
    "pcm.sigma_read_rel",
    "pcm.read_noise_white_rel",
)
#: ageing the compact model leaves out
AGEING = ("pcm.endurance_cycles", "pcm.t_damage_k", "pcm.damage_time_s")

#: device parameters the compact model uses, in SCHEMA order
USED = tuple(n for n in SCHEMA if n not in (*NOISE_OFF, *AGEING))
#: the rest, and why the compact model does without
LEFT_OUT = {
    "ts.vth_c2c_rel": "cycle-to-cycle spread: deterministic model (nominal threshold)",
    "ts.vth_d2d_rel": "device-to-device spread: one nominal device",
    "pcm.r_d2d_rel": "device-to-device spread: one nominal device",
    "pcm.vt_c2c_rel": "cycle-to-cycle spread: deterministic model",
    "pcm.sigma_prog_rel": "programming noise: deterministic model",
    "pcm.sigma_reset_rel": "RESET noise: deterministic model",
    "pcm.sigma_read_rel": "read noise: deterministic model",
    "pcm.read_noise_white_rel": "read noise: deterministic model",
    "pcm.endurance_cycles": "ageing is not in the compact model",
    "pcm.t_damage_k": "ageing is not in the compact model",
    "pcm.damage_time_s": "ageing is not in the compact model",
}
assert set(USED) | set(LEFT_OUT) == set(SCHEMA)

#: internal time constants of the compact model's latches (s): short against every device time
LATCH_S = 10e-12  # TS on/off and the amorphous part's switch-on
COMMIT_S = 20e-12  # the molten dome's commit on solidification, resets of progress and timers
PCM_RELEASE_S = 2e-9  # the switched amorphous part lets go after ~this long without holding (kernel.py)
REARM_REL = 0.01  # recovery starts this fraction above the TS's own voltage at turn-off (kernel.py)
U_MIN = 1e-6  # below this there is no amorphous dome (elements.py)
K_B_EV = 8.617333262e-5
GLASS_TAU_S = 100.0
GLASS_FRAGILITY_K = 6.0


def spice_name(name: str) -> str:
    """``ts.vth_v`` -> ``ts_vth_v`` (a SPICE/Verilog-A identifier)."""
    return name.replace(".", "_")


def check_constants() -> None:
    """The compact model restates a few of the stepper's constants: they must still be the stepper's."""
    from sim_backend import elements, kernel

    pairs = [
        (PCM_RELEASE_S, kernel.PCM_RELEASE_S),
        (REARM_REL, kernel.REARM_REL),
        (U_MIN, elements.U_MIN),
        (K_B_EV, elements.K_B_EV),
        (GLASS_TAU_S, elements.GLASS_TAU_S),
        (GLASS_FRAGILITY_K, elements.GLASS_FRAGILITY_K),
    ]
    bad = [f"{a!r} != {b!r}" for a, b in pairs if a != b]
    if bad:
        raise AssertionError("compact model constants differ from sim_backend's: " + ", ".join(bad))
