"""The equations of each element of a TS-PCM cell, as vectorized functions of state arrays.

Threshold switch (TS, bottom, volatile):
  off state   I = I0 sinh(V / V0),  I0 = i_th / sinh(Vth / V0)   (Poole-Frenkel-like; i_th at Vth)
  on state    V = Vhold + I R_on,    held while I >= i_hold
  firing      after a delay t_d = t_d0 exp(-(V_ts - Vth_eff) / V0_delay) spent above Vth_eff
  recovery    Vth_eff(t_off) = Vth - (Vth - Vhold) exp(-t_off / tau_rec) after turn-off

Phase-change layer (PCM, top, non-volatile), state u = amorphous fraction of the active volume:
  read        G(u, t) = (1 - u) G_c + u G_a (t / t0)^-nu   (lumped compact model: conductance linear in
              crystalline fraction; only the amorphous part drifts)
  threshold   V_t(u) = u vt_full    (amorphous threshold scales with the amorphous extent)
  on state    V = u vh_full + I / G_c, held while I >= i_hold
  heating     dT/dt = (T_amb + R_th P - T) / tau_th
  SET         du/dt = -k(T) u, k(T) = k_max exp(-((T - T_peak)/w)^2) for T > T_glass   (JMAK, n = 1)
  RESET       molten fraction m(T) = (T - T_melt)/(T_full - T_melt), clipped to [0, 1]; on quench the
              molten volume is amorphous and the rest keeps its mixture: u <- m_peak + (1 - m_peak) u
"""

from __future__ import annotations

import numpy as np


# --- threshold switch ------------------------------------------------------------------------------
def ts_off_i0(vth_v, i_th_a, v0_v):
    """Prefactor I0 (A) of the off-state sinh law so that the off current at Vth is ``i_th_a``."""
    return i_th_a / np.sinh(vth_v / v0_v)


def ts_delay_s(overdrive_v, t_d0_s, v0_delay_v):
    """Switching delay (s) at a given overdrive V - Vth_eff (V >= 0)."""
    return t_d0_s * np.exp(-overdrive_v / v0_delay_v)


def ts_vth_recovered(vth_v, vhold_v, t_off_s, tau_s):
    """Threshold (V) a time ``t_off_s`` after turn-off: from Vhold back to the cycle's Vth."""
    return vth_v - (vth_v - vhold_v) * np.exp(-t_off_s / tau_s)


# --- phase-change layer ----------------------------------------------------------------------------
def pcm_drift_factor(age_s, t0_s, nu):
    """Multiplier (<= 1 after t0) of the amorphous conductance ``age_s`` after melt-quench."""
    return (np.maximum(age_s, t0_s) / t0_s) ** (-nu)


def pcm_conductance(u, g_c, g_a, drift):
    """Low-field conductance (S) of the PCM at amorphous fraction ``u``."""
    return (1.0 - u) * g_c + u * g_a * drift


def crystallization_rate(temp_k, k_max, t_peak_k, t_width_k, t_glass_k):
    """First-order crystallization rate k(T) (1/s); zero below the glass transition."""
    rate = k_max * np.exp(-(((temp_k - t_peak_k) / t_width_k) ** 2))
    return np.where(temp_k > t_glass_k, rate, 0.0)


def molten_fraction(temp_k, t_melt_k, t_full_melt_k):
    """Fraction (0..1) of the active volume above the melting temperature."""
    return np.clip((temp_k - t_melt_k) / (t_full_melt_k - t_melt_k), 0.0, 1.0)
