"""The equations of each element of a TS-PCM cell, as scalar functions the compiled stepper inlines.

Every function takes SI scalars and the parameter vector ``p`` (values in :data:`sim_backend.params.SCHEMA`
order, indexed by the ``P_*`` constants below) and returns SI scalars. docs/model.md derives them; the
short form:

Threshold switch (TS, bottom layer, volatile, S-shaped)
  off      I = I0 sinh(V_ts / V0),  I0 = i_th / sinh(Vth_dev / V0)           (i_th: off current at threshold)
  firing   after a delay t_d = t_d0 exp(-(V_ts - Vth_eff) / V0_delay) spent above Vth_eff
  on       V_ts = Vhold + I R_on, held while I >= i_hold
  recovery Vth_eff(t) = Vth + (V_start - Vth) exp(-t / tau_rec); V_start is the TS's own voltage just after
           turn-off (its off branch at the node voltage then), so a node left above Vhold does not re-fire
           at once: the threshold recovers from where the switch let go

Phase-change layer (PCM, top layer, non-volatile): a mushroom dome, a series element of amorphous
thickness u (0 crystalline .. 1 full RESET)
  read     R(u, t, T) = R_c + u R_a (t_eff / t0)^nu exp(Ea_c / k (1/T - 1/300 K))     (ohmic below threshold)
  switch   the amorphous part switches on when its voltage reaches
           V_t = (Vt0 + Vt_slope u + dVt/dec u log10(t_eff / t0)) (1 + c2c)
  on       the switched amorphous part holds Vh: V_pcm = I R_c + min(Vh, I u R_a); it lets go by itself
           once I u R_a < Vh (then it is ohmic again and needs V_t to switch on)
  heating  dT/dt = (T_chuck + R_th P - T) / tau_th,  P = I V_pcm + heat_to_pcm I V_ts
  SET      JMAK with incubation: u = u_q exp(theta0^n - theta^n), dtheta/dt = k(T),
           k = D(T) / (1/k_A(T) + 1/k_max), k_A = exp(-Ea/k (1/T - 1/T_ref)) / tau_ref,
           D(T) = 1 - exp(-(T_m - T)/w) below the melt (driving force), 0 above
  RESET    the molten dome m(T) = (T - T_m)/(T_full - T_m) re-melts rather than adds: on solidifying
           u_q <- max(u, m) and theta <- theta0 = theta_head (1 - m): a dome bounded by crystalline material
           (a partial RESET) grows back from it without the incubation of a fresh amorphous volume, a full
           RESET (m = 1) leaves none; the cooling tail crystallizes it again through k(T) unless the
           quench is fast
  drift    t_eff advances as dt exp(-Ea_d/k (1/T - 1/300 K)) below the glass transition; above it the
           supercooled liquid relaxes within tau(T) = 100 s exp(-(T - T_g)/6 K) (fragile: ~100 s at T_g,
           ns 150 K above), so t_eff decays: a SET pulse rejuvenates the glass, a ns spike barely does

Random draws come from a counter-based generator per cell (splitmix64 of seed, cell and a per-cell
counter): the same cell gets the same draws whichever cells are driven with it or how a waveform is split.
"""

from __future__ import annotations

import math

import numpy as np

from sim_backend.jit import njit
from sim_backend.params import SCHEMA

_NAMES = tuple(SCHEMA)


def _at(name: str) -> int:
    return _NAMES.index(name)


# parameter vector positions (module constants: the compiler folds them)
P_VTH = _at("ts.vth_v")
P_VTH_C2C = _at("ts.vth_c2c_rel")
P_VTH_D2D = _at("ts.vth_d2d_rel")
P_VHOLD = _at("ts.vhold_v")
P_R_ON = _at("ts.r_on_ohm")
P_I_HOLD = _at("ts.i_hold_a")
P_I_TH = _at("ts.i_th_a")
P_V0_OFF = _at("ts.v0_off_v")
P_TD0 = _at("ts.t_d0_s")
P_V0_DELAY = _at("ts.v0_delay_v")
P_TAU_REC = _at("ts.tau_recovery_s")
P_HEAT_TO_PCM = _at("ts.heat_to_pcm")
P_R_C = _at("pcm.r_cryst_ohm")
P_R_A = _at("pcm.r_amorph_ohm")
P_R_D2D = _at("pcm.r_d2d_rel")
P_EA_COND = _at("pcm.ea_conduction_ev")
P_VT0 = _at("pcm.vt0_v")
P_VT_SLOPE = _at("pcm.vt_slope_v")
P_VT_C2C = _at("pcm.vt_c2c_rel")
P_VT_DRIFT = _at("pcm.vt_drift_v_per_decade")
P_VH = _at("pcm.vh_v")
P_NU = _at("pcm.nu_drift")
P_T0_DRIFT = _at("pcm.t0_drift_s")
P_EA_DRIFT = _at("pcm.ea_drift_ev")
P_R_TH = _at("pcm.r_th_k_per_w")
P_TAU_TH = _at("pcm.tau_th_s")
P_T_GLASS = _at("pcm.t_glass_k")
P_EA_CRYST = _at("pcm.ea_cryst_ev")
P_T_CRYST_REF = _at("pcm.t_cryst_ref_k")
P_TAU_CRYST_REF = _at("pcm.tau_cryst_ref_s")
P_K_MAX = _at("pcm.k_cryst_max_per_s")
P_DRIVE_W = _at("pcm.driving_width_k")
P_JMAK_N = _at("pcm.jmak_n")
P_T_MELT = _at("pcm.t_melt_k")
P_T_FULL_MELT = _at("pcm.t_full_melt_k")
P_SIGMA_PROG = _at("pcm.sigma_prog_rel")
P_SIGMA_RESET = _at("pcm.sigma_reset_rel")
P_SIGMA_READ = _at("pcm.sigma_read_rel")
P_READ_WHITE = _at("pcm.read_noise_white_rel")
P_U_INITIAL = _at("pcm.u_initial")
P_THETA_HEAD = _at("pcm.theta_head")
P_HEAT_COUPLING = _at("pcm.heat_coupling")
P_ENDURANCE = _at("pcm.endurance_cycles")
P_T_DAMAGE = _at("pcm.t_damage_k")
P_DAMAGE_TIME = _at("pcm.damage_time_s")
P_C_TS = _at("ts.c_ts_f")

K_B_EV = 8.617333262e-5  # Boltzmann constant (eV/K)
T_REF_K = 300.0  # reference temperature of resistances and of the drift clock
READ_T_REF_S = 1e-3  # integration time at which read_noise_white_rel applies (it falls as 1/sqrt(t))
U_MIN = 1e-6  # below this the amorphous dome is gone (no threshold, no hold)
GLASS_TAU_S = 100.0  # relaxation time at the glass transition (its definition)
GLASS_FRAGILITY_K = 6.0  # e-fold of the relaxation time above it (a fragile glass former)


# --- random draws --------------------------------------------------------------------------------
# All arithmetic on numpy uint64 (wraps modulo 2**64 compiled; uncompiled, numpy wraps too: callers
# silence its overflow warning with np.errstate(over="ignore")).
_C1 = np.uint64(0x9E3779B97F4A7C15)
_C2 = np.uint64(0xBF58476D1CE4E5B9)
_C3 = np.uint64(0x94D049BB133111EB)
_PRIME = np.uint64(0x100000001B3)
_S11, _S27, _S30, _S31 = np.uint64(11), np.uint64(27), np.uint64(30), np.uint64(31)


@njit
def splitmix64(x):
    """One splitmix64 output for the uint64 input ``x``."""
    z = x + _C1
    z = (z ^ (z >> _S30)) * _C2
    z = (z ^ (z >> _S27)) * _C3
    return z ^ (z >> _S31)


@njit
def uniform(seed, cell, counter):
    """A uniform draw in (0, 1) for uint64 (seed, cell, counter); counters never repeat within a cell."""
    x = splitmix64(seed ^ splitmix64(cell * _PRIME + counter))
    return (float(x >> _S11) + 0.5) * (1.0 / 9007199254740992.0)


@njit
def normal(seed, cell, counter):
    """A standard normal draw (Box-Muller) from counters ``counter`` and ``counter + 1``."""
    u1 = uniform(seed, cell, counter)
    u2 = uniform(seed, cell, counter + np.uint64(1))
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


# --- threshold switch ----------------------------------------------------------------------------
@njit
def ts_i0(vth_dev, p):
    """Prefactor I0 (A) of the off-state sinh law: the off current at the device threshold is i_th."""
    return p[P_I_TH] / math.sinh(vth_dev / p[P_V0_OFF])


@njit
def ts_threshold(vth_cycle, vth_start, t_off, p):
    """Effective threshold (V) ``t_off`` seconds after turn-off, relaxing from ``vth_start`` to the cycle's."""
    return vth_cycle + (vth_start - vth_cycle) * math.exp(-t_off / p[P_TAU_REC])


@njit
def ts_delay(overdrive, p):
    """Switching delay (s) at an overdrive V_ts - Vth_eff >= 0."""
    return p[P_TD0] * math.exp(-overdrive / p[P_V0_DELAY])


# --- phase-change layer --------------------------------------------------------------------------
@njit
def arrhenius(ea_ev, temp_k, ref_k):
    """exp(-Ea/k (1/T - 1/T_ref)): > 1 above the reference temperature."""
    return math.exp(-ea_ev / K_B_EV * (1.0 / temp_k - 1.0 / ref_k))


@njit
def drift_factor(t_eff, p):
    """(t_eff / t0)^nu, 1 before t0: the amorphous resistance relative to its value at t0 after a melt."""
    t0 = p[P_T0_DRIFT]
    return (t_eff / t0) ** p[P_NU] if t_eff > t0 else 1.0


@njit
def amorphous_resistance(u, r_a, t_eff, temp_k, p):
    """Low-field resistance (Ohm) of the amorphous part of thickness ``u`` at temperature ``temp_k``."""
    return u * r_a * drift_factor(t_eff, p) * arrhenius(-p[P_EA_COND], temp_k, T_REF_K)


@njit
def pcm_threshold(u, t_eff, vt_factor, p):
    """Voltage (V) at which the amorphous part switches on; infinite when there is none."""
    if u < U_MIN:
        return math.inf
    t0 = p[P_T0_DRIFT]
    decades = math.log10(t_eff / t0) if t_eff > t0 else 0.0
    return (p[P_VT0] + p[P_VT_SLOPE] * u + p[P_VT_DRIFT] * u * decades) * vt_factor


@njit
def cryst_rate(temp_k, p):
    """JMAK rate k(T) (1/s): Arrhenius nucleation/growth limited by a kinetic ceiling, zero above the melt."""
    t_m = p[P_T_MELT]
    if temp_k >= t_m:
        return 0.0
    k_a = arrhenius(p[P_EA_CRYST], temp_k, p[P_T_CRYST_REF]) / p[P_TAU_CRYST_REF]
    drive = 1.0 - math.exp(-(t_m - temp_k) / p[P_DRIVE_W])
    return drive / (1.0 / k_a + 1.0 / p[P_K_MAX])


@njit
def drift_rate(temp_k, p):
    """d t_eff / dt below the glass transition: the drift clock runs faster when warm."""
    return arrhenius(p[P_EA_DRIFT], min(temp_k, p[P_T_GLASS]), T_REF_K)


@njit
def glass_relaxation_s(temp_k, p):
    """Structural relaxation time (s) of the supercooled liquid above the glass transition."""
    return GLASS_TAU_S * math.exp(-(temp_k - p[P_T_GLASS]) / GLASS_FRAGILITY_K)


@njit
def molten_fraction(temp_k, p):
    """Fraction (0..1) of the active volume above the melting temperature: the size of the molten dome."""
    x = (temp_k - p[P_T_MELT]) / (p[P_T_FULL_MELT] - p[P_T_MELT])
    return min(max(x, 0.0), 1.0)


@njit
def amorphous_fraction(u_q, theta, theta0, p):
    """u = u_q exp(theta0^n - theta^n): what is left amorphous of a dome of size u_q, solidified with JMAK
    progress theta0 already made (crystalline boundaries it inherited), after progress theta."""
    n = p[P_JMAK_N]
    return u_q * math.exp(theta0**n - theta**n)


@njit
def window_factor(cycles, p):
    """Ageing: the fraction of the amorphous resistance a cell keeps after ``cycles`` melt-quench cycles."""
    x = cycles / p[P_ENDURANCE]
    return 1.0 / (1.0 + x * x)
