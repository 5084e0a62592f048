"""The compiled stepper: one cell at a time, each with its own adaptive time step, in virtual time.

The circuit of a driven cell (docs/model.md draws it): a source, voltage or current, with a compliance
limit, behind the path resistance ``r_s``; the cell's top electrode is a node with capacitance ``cap``
(probe, pad and the cell's own) to ground; the cell is the threshold switch in series with the PCM
(:mod:`sim_backend.elements`). The node voltage is integrated exactly for the cell linearized over a
step, or solved outright when the node settles much faster than the step (the quasi-static limit). The
source's compliance acts on the source current; the node capacitance discharges through the cell
whatever the limit, as at a real bench.

Steps: at most ``DV_MAX_V`` of source change, shorter around events (firing, turn-off, melting), switching
delays, thermal and capacitive transients, recovery and fast crystallization; across a stretch where
nothing evolves the step reaches the next breakpoint (waveform knots, window edges). Window means are exact
integrals of the stepped source current; samples are the cell current held from step to step.

Every function here is compiled by numba (``sim_backend.jit``); ``TSPCM_NO_JIT=1`` runs them uncompiled.
Cells are independent: :func:`run_parallel` spreads them over cores with ``prange``.
"""

from __future__ import annotations

import math

import numpy as np

from sim_backend.elements import (
    P_C_TS,
    P_DAMAGE_TIME,
    P_ENDURANCE,
    P_HEAT_COUPLING,
    P_HEAT_TO_PCM,
    P_I_HOLD,
    P_R_A,
    P_R_C,
    P_R_D2D,
    P_R_ON,
    P_R_TH,
    P_READ_WHITE,
    P_SIGMA_PROG,
    P_SIGMA_READ,
    P_SIGMA_RESET,
    P_T_DAMAGE,
    P_T_GLASS,
    P_T_MELT,
    P_TAU_REC,
    P_TAU_TH,
    P_THETA_HEAD,
    P_U_INITIAL,
    P_V0_OFF,
    P_VH,
    P_VHOLD,
    P_VT_C2C,
    P_VTH,
    P_VTH_C2C,
    P_VTH_D2D,
    READ_T_REF_S,
    U_MIN,
    amorphous_fraction,
    amorphous_resistance,
    cryst_rate,
    drift_rate,
    glass_relaxation_s,
    molten_fraction,
    normal,
    pcm_threshold,
    ts_delay,
    ts_i0,
    ts_threshold,
    uniform,
    window_factor,
)
from sim_backend.jit import njit, prange

# --- per-cell state: columns of the model's float64 state matrix ------------------------------------
S_VTH_DEV = 0  # device-mean TS threshold (V)
S_VTH_CYC = 1  # this cycle's TS threshold (V)
S_VTH_START = 2  # TS threshold right after the last turn-off (V)
S_T_OFF = 3  # time since the TS last turned off (s)
S_PROG = 4  # switching-delay progress (0..1)
S_TS_ON = 5  # 1 while the TS conducts
S_PCM_ON = 6  # 1 while the amorphous part is switched on
S_UQ = 7  # size of the amorphous dome when it last solidified (0..1)
S_THETA = 8  # JMAK progress since then
S_U = 9  # amorphous thickness u = u_q exp(-theta^n)
S_VT_F = 10  # this cycle's relative draw of the amorphous threshold
S_TEMP = 11  # PCM temperature (K)
S_T_EFF = 12  # drift clock: effective seconds since the last melt
S_MPEAK = 13  # largest molten fraction of the present melt
S_VNODE = 14  # top-electrode voltage: across the whole cell (V, signed)
S_RC = 15  # device's crystalline series resistance (Ohm)
S_RA = 16  # device's full-RESET amorphous resistance (Ohm)
S_I0 = 17  # device's TS off-state prefactor (A)
S_EP_HOT = 18  # 1 while a heating episode (T above the glass transition) is under way
S_EP_THETA = 19  # theta when the episode began
S_CYCLES = 20  # melt-quench cycles (ageing)
S_T_OVER = 21  # seconds spent above the damage temperature (ageing)
S_XWARM = 22  # warm start of the off-branch solve
S_REST = 23  # seconds at rest (TS voltage below half the hold voltage) since the threshold was last drawn
S_TARGET = 24  # delay progress at which the present switching attempt fires (an exponential draw)
S_VM = 25  # voltage across the TS (its capacitance's node, between the two layers; V, signed)
S_NOISE = 26  # the slow (1/f-like) relative fluctuation of the cell's conductance, as reads see it
S_NOISE_T = 27  # model time (s) at which S_NOISE was last drawn
S_THETA0 = 28  # JMAK progress the present dome started with (inherited crystalline boundaries)
NS = 29

MODE_VOLTAGE, MODE_CURRENT, MODE_OPEN = 0, 1, 2

DT_MIN_S = 1e-12  # shortest step
DV_MAX_V = 5e-3  # largest source change per step on a ramp or edge
GROWTH = 4.0  # step growth across quiet stretches
MAX_STEPS = 50_000_000  # per cell and call: an unresolvable state is an error, never a hang
REARM_REL = 0.01  # recovery starts this fraction above the TS's own voltage at turn-off
PCM_RELEASE_S = 2e-9  # the switched amorphous part lets go after this long without holding (its ON state decays)
OFF_STATE_TAU_S = 1e-6  # an idle cell's electrodes discharge through the instruments' off-state impedance
REST_DRAW_S = 1e-6
NOISE_TAU_S = 1.0  # correlation time of the slow read noise: readings ms apart share it, seconds apart do not  # a TS at rest this long gets a new cycle's threshold (each pulse meets a new draw)


# --- circuit pieces ----------------------------------------------------------------------------------
@njit
def _off_solve(v_target, r_tot, i0, v0, x_warm):
    """x >= 0 with v0 x + r_tot i0 sinh(x) = v_target (>= 0): the off-branch series solve, x = asinh(I/I0)."""
    if v_target <= 0.0:
        return 0.0
    upper = v_target / v0
    if r_tot * i0 > 0.0:
        upper = min(upper, math.asinh(v_target / (i0 * r_tot)))
    x = x_warm if 0.0 < x_warm < upper else upper
    for _ in range(80):
        sh = math.sinh(x)
        f = v0 * x + r_tot * i0 * sh - v_target
        xn = x - f / (v0 + r_tot * i0 * math.cosh(x))
        if xn < 0.0:
            xn = 0.5 * x
        if abs(xn - x) <= 1e-14 * (1.0 + x):
            return xn
        x = xn
    return x


@njit
def _pcm_branch(vp, pcm_on, r_c, r_am, vh):
    """Current (A, signed like ``vp``), dI/dV of the PCM with ``vp`` across it, and whether the switched
    amorphous part is holding Vh (above its knee); below the knee it conducts ohmically."""
    if pcm_on == 1 and r_am > 0.0:
        a = abs(vp)
        if a * r_am >= vh * (r_c + r_am):
            return math.copysign((a - vh) / r_c, vp), 1.0 / r_c, 1
    r = r_c + r_am
    return vp / r, 1.0 / r, 0


@njit
def _ts_branch(vm, ts_on, i0, v0, vhold, r_on):
    """Current (A, signed like ``vm``) and dI/dV of the threshold switch with ``vm`` across it."""
    a = abs(vm)
    if ts_on == 0:
        x = min(a / v0, 700.0)
        return math.copysign(i0 * math.sinh(x), vm), i0 * math.cosh(x) / v0
    if a > vhold:
        return math.copysign((a - vhold) / r_on, vm), 1.0 / r_on
    return 0.0, 0.0


@njit
def _static(a, b, ts_on, pcm_on, r_am, r_c, i0, p, x_warm):
    """Operating point of the series cell on the source line I = a - b V (b = 0: a current source), a >= 0:
    (V across the cell, I, pcm_on, x, V across the TS)."""
    if a <= 0.0:
        return 0.0, 0.0, 0, x_warm, 0.0
    v0 = p[P_V0_OFF]
    if ts_on == 0:
        r = r_c + r_am
        if b > 0.0:
            x = _off_solve(a / b, r + 1.0 / b, i0, v0, x_warm)
        else:
            x = math.asinh(a / i0)
        i = i0 * math.sinh(x)
        return v0 * x + r * i, i, 0, x, v0 * x
    vhold, r_on, vh = p[P_VHOLD], p[P_R_ON], p[P_VH]
    if pcm_on == 1 and r_am > 0.0:
        i = (a - b * (vhold + vh)) / (1.0 + b * (r_on + r_c))
        if i > 0.0 and i * r_am >= vh:
            return vhold + vh + i * (r_on + r_c), i, 1, x_warm, vhold + i * r_on
    r_t = r_on + r_c + r_am
    i = (a - b * vhold) / (1.0 + b * r_t)
    if i <= 0.0:
        v = a / b if b > 0.0 else vhold
        return v, 0.0, 0, x_warm, v
    return vhold + i * r_t, i, 0, x_warm, vhold + i * r_on


@njit
def _static_limited(mode, level, r_s, lim, ts_on, pcm_on, r_am, r_c, i0, p, x_warm):
    """Operating point with the source and its compliance: (V cell, V TS, limited, pcm_on, x)."""
    if mode == MODE_OPEN:
        return 0.0, 0.0, False, 0, x_warm
    s = 1.0 if level >= 0.0 else -1.0
    if mode == MODE_VOLTAGE:
        v, i, pc, x, vm = _static(abs(level) / r_s, 1.0 / r_s, ts_on, pcm_on, r_am, r_c, i0, p, x_warm)
        if lim > 0.0 and i > lim:
            v, i, pc, x, vm = _static(lim, 0.0, ts_on, pcm_on, r_am, r_c, i0, p, x_warm)
            return s * v, s * vm, True, pc, x
        return s * v, s * vm, False, pc, x
    v, i, pc, x, vm = _static(abs(level), 0.0, ts_on, pcm_on, r_am, r_c, i0, p, x_warm)
    if lim > 0.0 and v + i * r_s > lim:
        v, i, pc, x, vm = _static(lim / r_s, 1.0 / r_s, ts_on, pcm_on, r_am, r_c, i0, p, x_warm)
        return s * v, s * vm, True, pc, x
    return s * v, s * vm, False, pc, x


@njit
def _phi(lam, dt):
    """(exp(lam dt) - 1) / lam, dt at lam = 0: the exact integral of a linear mode over one step."""
    return dt if lam == 0.0 else math.expm1(lam * dt) / lam


@njit
def _exp_step(j11, j12, j21, j22, lam_f, lam_s, f1, f2, dt):
    """Change of both node voltages over ``dt`` for dx/dt = f0 + J (x - x0), exactly: F(J) f0 with
    F(z) = (e^{z dt} - 1)/z, evaluated on the two (real, <= 0) eigenvalues of the RC network."""
    ff, fs = _phi(lam_f, dt), _phi(lam_s, dt)
    dl = lam_f - lam_s
    if abs(dl) > 1e-9 * abs(lam_f):
        c1 = (ff - fs) / dl
    elif lam_f != 0.0:
        c1 = (dt * math.exp(lam_f * dt) - ff) / lam_f
    else:
        c1 = 0.5 * dt * dt
    c0 = fs - c1 * lam_s
    return c0 * f1 + c1 * (j11 * f1 + j12 * f2), c0 * f2 + c1 * (j21 * f1 + j22 * f2)


@njit
def _source_line(mode, level, r_s, lim, v_node):
    """(a, b, limited) of the source as seen from the node, I_source = a - b V_node, after its limit.

    Voltage mode: ``level`` volts behind ``r_s``, current limit ``lim`` (<= 0: none). Current mode:
    ``level`` amperes, terminal-voltage limit ``lim`` (<= 0: none). Open: no source at all."""
    if mode == MODE_OPEN:
        return 0.0, 0.0, False
    if mode == MODE_VOLTAGE:
        a, b = level / r_s, 1.0 / r_s
        i = a - b * v_node
        if lim > 0.0 and abs(i) > lim:
            return math.copysign(lim, i), 0.0, True
        return a, b, False
    v_term = v_node + level * r_s
    if lim > 0.0 and abs(v_term) > lim:
        vl = math.copysign(lim, v_term)
        return vl / r_s, 1.0 / r_s, True
    return level, 0.0, False


@njit
def _cycle_draw(vth_dev, seed, cell, counter, p):
    """A new cycle's TS threshold (V) and relative amorphous-threshold factor; returns the next counter."""
    vth = max(vth_dev * (1.0 + p[P_VTH_C2C] * normal(seed, cell, counter)), p[P_VHOLD] * 1.02)
    vt_f = max(1.0 + p[P_VT_C2C] * normal(seed, cell, counter + np.uint64(2)), 0.5)
    return vth, vt_f, counter + np.uint64(4)


# --- one cell through one waveform -------------------------------------------------------------------
@njit
def run_cell(S, rng, c, j, seed, p, kt, kv, bps, mode, r_s, lim, cap, win, samp, amb, t_start, w_i, w_v, w_n, w_c, smp):
    """Step cell ``c`` (row ``j`` of the outputs) through the waveform; returns (fires, peak T, steps)."""
    cell = np.uint64(c)
    vhold, i_hold, r_on, vh = p[P_VHOLD], p[P_I_HOLD], p[P_R_ON], p[P_VH]
    tau_th, tau_rec = p[P_TAU_TH], p[P_TAU_REC]
    r_th, heat, to_pcm = p[P_R_TH], p[P_HEAT_COUPLING], p[P_HEAT_TO_PCM]
    t_glass, t_melt, t_damage = p[P_T_GLASS], p[P_T_MELT], p[P_T_DAMAGE]
    v0 = p[P_V0_OFF]
    c_a = cap  # probe, pad and wiring at the top electrode
    c_m = p[P_C_TS] + 1e-18  # the TS layer's own capacitance

    vth_dev, vth_cyc, vth_start = S[c, S_VTH_DEV], S[c, S_VTH_CYC], S[c, S_VTH_START]
    t_off, prog = S[c, S_T_OFF], S[c, S_PROG]
    ts_on, pcm_on = int(S[c, S_TS_ON]), int(S[c, S_PCM_ON])
    u_q, theta, theta0, u = S[c, S_UQ], S[c, S_THETA], S[c, S_THETA0], S[c, S_U]
    vt_f, temp, t_eff, mpeak = S[c, S_VT_F], S[c, S_TEMP], S[c, S_T_EFF], S[c, S_MPEAK]
    v_a, v_m = S[c, S_VNODE], S[c, S_VM]
    r_c, r_a, i0 = S[c, S_RC], S[c, S_RA], S[c, S_I0]
    ep_hot, ep_theta = S[c, S_EP_HOT], S[c, S_EP_THETA]
    cycles, t_over, x_warm = S[c, S_CYCLES], S[c, S_T_OVER], S[c, S_XWARM]
    rest, target = S[c, S_REST], S[c, S_TARGET]
    pcm_idle = 0.0
    counter = rng[c]

    nk, nb, nw, nsm = kt.size, bps.size, win.shape[0], samp.size
    t_end = kt[nk - 1]
    t, b, seg, w, sp = 0.0, 0, 0, 0, 0
    dt = DT_MIN_S
    quiet_before = False
    steps, fires = 0, 0
    t_peak = temp
    while t < t_end * (1.0 - 1e-15):
        while b < nb and bps[b] <= t:
            b += 1
        if b >= nb:
            break
        t_bp = bps[b]
        while seg < nk - 2 and kt[seg + 1] <= t:
            seg += 1
        span = kt[seg + 1] - kt[seg]
        slope = (kv[seg + 1] - kv[seg]) / span if span > 0.0 else 0.0
        if dt > t_bp - t:
            dt = t_bp - t
        if slope != 0.0:
            dt = min(dt, max(DV_MAX_V / abs(slope), DT_MIN_S))
        level = kv[seg] + slope * (t + 0.5 * dt - kt[seg])

        # --- the circuit over this step -------------------------------------------------------------
        r_am = amorphous_resistance(
            u, r_a * window_factor(cycles, p) * math.exp(-t_over / p[P_DAMAGE_TIME]), t_eff, temp, p
        )
        a, bb, comp = _source_line(mode, level, r_s, lim, v_a)
        i_p, g_p, _ = _pcm_branch(v_a - v_m, pcm_on, r_c, r_am, vh)
        i_t, g_t = _ts_branch(v_m, ts_on, i0, v0, vhold, r_on)
        f1, f2 = (a - bb * v_a - i_p) / c_a, (i_p - i_t) / c_m
        j11, j12, j21, j22 = -(bb + g_p) / c_a, g_p / c_a, g_p / c_m, -(g_p + g_t) / c_m
        tr, det = j11 + j22, j11 * j22 - j12 * j21
        lam_f = 0.5 * tr - math.sqrt(max(0.25 * tr * tr - det, 0.0))
        lam_s = det / lam_f if lam_f != 0.0 else 0.0
        quasi_static = -lam_s * dt > 30.0
        if quasi_static:  # both nodes settle within the step: solve the operating point outright
            v_a, v_m, comp, pcm_on, x_warm = _static_limited(
                mode, level, r_s, lim, ts_on, pcm_on, r_am, r_c, i0, p, x_warm
            )
        else:
            if comp and mode == MODE_VOLTAGE and f1 != 0.0:
                # the source is at its current limit: it leaves it when the top electrode reaches the voltage
                # the limit current drops across the path; do not step past that point
                t_b = (level - a * r_s - v_a) / f1
                if 0.0 < t_b < dt:
                    dt = max(t_b, DT_MIN_S)
            d_a, d_m = _exp_step(j11, j12, j21, j22, lam_f, lam_s, f1, f2, dt)
            v_a += d_a
            v_m += d_m
        i_p, g_p, holding = _pcm_branch(v_a - v_m, pcm_on, r_c, r_am, vh)
        if pcm_on == 1:  # the switched part lets go once it has not held Vh for PCM_RELEASE_S
            pcm_idle = 0.0 if holding == 1 else pcm_idle + dt
            if pcm_idle > PCM_RELEASE_S:
                pcm_on, pcm_idle = 0, 0.0
        i_t, g_t = _ts_branch(v_m, ts_on, i0, v0, vhold, r_on)
        v_pcm, v_ts = abs(v_a - v_m), abs(v_m)
        if quasi_static:
            i_src = i_p
            settled = True
            drift_v = 0.0
        else:
            a, bb, comp2 = _source_line(mode, level, r_s, lim, v_a)
            comp = comp or comp2
            i_src = a - bb * v_a
            # how fast the nodes still move: settled when a slow time constant moves them < 10 uV
            drift_v = max(abs(i_src - i_p) / c_a, abs(i_p - i_t) / c_m)
            settled = lam_s < 0.0 and drift_v < -1e-5 * lam_s

        # --- outputs ---------------------------------------------------------------------------------
        while sp < nsm and samp[sp] < t + dt:
            smp[j, sp] = i_p
            sp += 1
        while w < nw and win[w, 1] <= t:
            w += 1
        if w < nw and win[w, 0] <= t:
            w_i[j, w] += i_src * dt
            if mode == MODE_VOLTAGE:
                w_v[j, w] += (v_a + i_src * r_s if comp else level) * dt
            else:
                w_v[j, w] += (v_a + i_src * r_s) * dt
            w_n[j, w] += v_a * dt
            if comp:
                w_c[j, w] += dt

        # --- threshold switch and the amorphous part's switching --------------------------------------
        event = False
        over = -1.0
        t_d = math.inf
        pcm_switched = False
        if pcm_on == 0 and v_pcm >= pcm_threshold(u, t_eff, vt_f, p):
            # the amorphous part switches: at once, whatever voltage puts it over (a TS firing lets go of
            # Vth - Vhold onto it: the cascade)
            pcm_on, event, pcm_switched = 1, True, True
        if ts_on == 0:
            vth_eff = ts_threshold(vth_cyc, vth_start, t_off, p)
            over = v_ts - vth_eff
            if over > 0.0:
                if prog == 0.0:  # a new switching attempt: when it fires is a Poisson draw (mean delay t_d)
                    target = -math.log(1.0 - uniform(seed, cell, counter))
                    counter += np.uint64(1)
                t_d = ts_delay(over, p)
                prog += dt / t_d
                if prog >= target:
                    ts_on, prog, event = 1, 0.0, True
                    fires += 1
                    rest = 0.0
            else:
                prog = 0.0
            t_off += dt
            if v_ts < 0.5 * vhold:
                rest += dt
                if rest > REST_DRAW_S:  # the cell rested: the next stress meets a new threshold draw
                    vth_cyc, vt_f, counter = _cycle_draw(vth_dev, seed, cell, counter, p)
                    vth_start = vth_cyc
                    rest = -math.inf  # one draw per rest
            elif rest < 0.0:
                rest = 0.0
        elif abs(i_t) < i_hold and not pcm_switched:  # (a cascade in progress carries the current next step)
            ts_on, pcm_on, event = 0, 0, True
            # recovery starts from the TS's own voltage now that it is off: its off branch at this node
            x_off = _off_solve(abs(v_a), r_c + r_am, i0, v0, 0.0)
            vth_start = max(v0 * x_off, vhold) * (1.0 + REARM_REL)
            t_off = 0.0
            rest = 0.0
            vth_cyc, vt_f, counter = _cycle_draw(vth_dev, seed, cell, counter, p)

        # --- heat, crystallization, melt-quench, drift clock, ageing -----------------------------------
        power = heat * (abs(i_p) * v_pcm + to_pcm * abs(i_t) * v_ts)
        t_ss = amb + r_th * power
        decay = math.exp(-dt / tau_th)
        t_avg = t_ss + (temp - t_ss) * (tau_th / dt) * (1.0 - decay)
        temp = t_ss + (temp - t_ss) * decay
        if temp > t_peak:
            t_peak = temp
        k_x = 0.0
        if u > U_MIN:
            k_x = cryst_rate(t_avg, p)
            if k_x > 0.0:
                theta += k_x * dt
                u = amorphous_fraction(u_q, theta, theta0, p)
        if t_avg > t_glass:  # a supercooled liquid relaxes within its relaxation time: the glass rejuvenates
            t_eff *= math.exp(-dt / glass_relaxation_s(t_avg, p))
        else:
            t_eff += drift_rate(t_avg, p) * dt
        if temp > t_damage:
            t_over += dt
        if temp > t_melt:
            m = molten_fraction(temp, p)
            if m > mpeak:
                mpeak = m
        elif mpeak > 0.0:  # the melt solidifies: the molten dome quenches amorphous, no nuclei left in it
            if mpeak >= u:
                u_q = min(mpeak * (1.0 + p[P_SIGMA_RESET] * normal(seed, cell, counter)), 1.0)
                counter += np.uint64(2)
                theta0 = p[P_THETA_HEAD] * (1.0 - min(mpeak, 1.0))
                theta, ep_theta = theta0, theta0
                u = u_q
            t_eff = 0.0
            if mpeak > 0.1:
                cycles += 1.0
            mpeak = 0.0
            event = True
        if t_avg > t_glass:
            if ep_hot == 0.0:
                ep_hot, ep_theta = 1.0, theta
        elif ep_hot == 1.0:  # a heating episode ended: its crystallization carries programming noise
            d_theta = theta - ep_theta
            if d_theta > 0.0 and p[P_SIGMA_PROG] > 0.0:
                theta = max(theta + p[P_SIGMA_PROG] * d_theta * normal(seed, cell, counter), theta0)
                counter += np.uint64(2)
                u = amorphous_fraction(u_q, theta, theta0, p)
            ep_hot = 0.0

        t = t_bp if dt >= t_bp - t else t + dt
        steps += 1
        if steps > MAX_STEPS:
            break

        # --- the next step ---------------------------------------------------------------------------
        if event:
            dt = DT_MIN_S
            quiet_before = False
            continue
        limit = dt * GROWTH
        active = False
        if abs(t_ss - temp) > 1.0:  # the temperature settling; finer through a melt (a steady melt: as any)
            limit, active = min(limit, (0.2 if mpeak > 0.0 else 0.5) * tau_th), True
        if temp > t_damage:  # the damage closes the window: by 2 % a step at most
            limit, active = min(limit, 0.02 * p[P_DAMAGE_TIME]), True
        if ts_on == 0 and over > 0.0:
            limit, active = min(limit, 0.1 * t_d), True
        if ts_on == 0 and t_off < 5.0 * tau_rec and v_ts > min(vth_start, vth_cyc) - 0.05:
            limit, active = min(limit, 0.25 * tau_rec), True
        if k_x > 0.0 and k_x * limit > 0.02:
            limit, active = 0.02 / k_x, True
        if not settled:
            active = True
            if lam_s < 0.0:
                limit = min(limit, -0.2 / lam_s)
            if drift_v > 0.0:
                limit = min(limit, DV_MAX_V / drift_v)
        dt = max(limit, DT_MIN_S)
        if not active and quiet_before:
            dt = t_end
        quiet_before = not active

    while sp < nsm:  # samples at the very end hold the last value
        smp[j, sp] = smp[j, sp - 1] if sp > 0 else 0.0
        sp += 1
    # readings: each window's mean carries the slow fluctuation of the cell (shared by readings close in
    # time, drawn afresh over NOISE_TAU_S) and a white part that falls with the window's length, unless
    # the source's compliance fixed the current
    noise, noise_t = S[c, S_NOISE], S[c, S_NOISE_T]
    for k in range(nw):
        dur = win[k, 1] - win[k, 0]
        w_i[j, k] /= dur
        w_v[j, k] /= dur
        w_n[j, k] /= dur
        w_c[j, k] = 1.0 if w_c[j, k] > 0.5 * dur else 0.0  # limited for most of the reading, not a transient
        t_k = t_start + win[k, 1]
        if t_k > noise_t:
            rho = math.exp(-(t_k - noise_t) / NOISE_TAU_S)
            noise = rho * noise + p[P_SIGMA_READ] * math.sqrt(1.0 - rho * rho) * normal(seed, cell, counter)
            counter += np.uint64(2)
            noise_t = t_k
        if w_c[j, k] == 0.0:
            white = p[P_READ_WHITE] * math.sqrt(READ_T_REF_S / dur) * normal(seed, cell, counter)
            counter += np.uint64(2)
            w_i[j, k] *= 1.0 + noise + white
    S[c, S_NOISE], S[c, S_NOISE_T] = noise, noise_t

    S[c, S_VTH_CYC], S[c, S_VTH_START], S[c, S_T_OFF], S[c, S_PROG] = vth_cyc, vth_start, t_off, prog
    S[c, S_TS_ON], S[c, S_PCM_ON] = ts_on, pcm_on
    S[c, S_UQ], S[c, S_THETA], S[c, S_U], S[c, S_VT_F] = u_q, theta, u, vt_f
    S[c, S_THETA0] = theta0
    S[c, S_TEMP], S[c, S_T_EFF], S[c, S_MPEAK], S[c, S_VNODE] = temp, t_eff, mpeak, v_a
    S[c, S_VM] = v_m
    S[c, S_EP_HOT], S[c, S_EP_THETA], S[c, S_CYCLES], S[c, S_T_OVER] = ep_hot, ep_theta, cycles, t_over
    S[c, S_XWARM] = x_warm
    S[c, S_REST], S[c, S_TARGET] = rest, target
    rng[c] = counter
    return fires, t_peak, steps


@njit
def run_serial(
    S,
    rng,
    cells,
    seed,
    p,
    kt,
    kv,
    bps,
    mode,
    r_s,
    lim,
    cap,
    win,
    samp,
    amb,
    t_start,
    w_i,
    w_v,
    w_n,
    w_c,
    smp,
    fires,
    t_peak,
    steps,
):
    """:func:`run_cell` for each of ``cells`` in turn (one or a few cells: no thread start-up)."""
    for j in range(cells.size):
        fires[j], t_peak[j], steps[j] = run_cell(
            S,
            rng,
            cells[j],
            j,
            seed,
            p,
            kt,
            kv,
            bps,
            mode,
            r_s,
            lim,
            cap,
            win,
            samp,
            amb,
            t_start,
            w_i,
            w_v,
            w_n,
            w_c,
            smp,
        )


@njit
def run_one(S, rng, seed, p, t_end, v_start, v_end, mode, r_s, lim, cap, amb, t_start, fire_count):
    """:func:`run_cell` for cell 0 of a one-cell model through the two-knot waveform (0, ``v_start``) ->
    (``t_end``, ``v_end``) (a DC level or one ramp), one window over all of it and no samples: an SMU
    reading. The knot, breakpoint and window arrays are made here and the results come back as scalars,
    so that the call from Python passes and gets back no arrays, nor indexes one: the cell's fires are
    added to ``fire_count[0]`` here (within the step budget, as :meth:`CellArray._run` counts them), and
    whether an ageing warning may be due is decided here. Returns (window current, source voltage, node
    voltage, compliance (1.0/0.0), fires, steps, peak temperature, ageing: the peak above the damage
    temperature, half the endurance used, or worn out (the causes of :meth:`CellArray._check_ageing`))."""
    kt = np.empty(2)
    kt[0] = 0.0
    kt[1] = t_end
    kv = np.empty(2)
    kv[0] = v_start
    kv[1] = v_end
    bps = np.empty(1)
    bps[0] = t_end
    win = np.empty((1, 2))
    win[0, 0] = 0.0
    win[0, 1] = t_end
    w = np.zeros((4, 1, 1))
    fires, peak, steps = run_cell(
        S,
        rng,
        0,
        0,
        seed,
        p,
        kt,
        kv,
        bps,
        mode,
        r_s,
        lim,
        cap,
        win,
        np.empty(0),
        amb,
        t_start,
        w[0],
        w[1],
        w[2],
        w[3],
        np.empty((1, 0)),
    )
    if steps <= MAX_STEPS:  # beyond the budget the caller refuses the result (model._check_steps), uncounted
        fire_count[0] += fires
    ageing = peak > p[P_T_DAMAGE] or S[0, S_CYCLES] > 0.5 * p[P_ENDURANCE] or S[0, S_T_OVER] > p[P_DAMAGE_TIME]
    return w[0, 0, 0], w[1, 0, 0], w[2, 0, 0], w[3, 0, 0], fires, steps, peak, ageing


@njit(parallel=True)
def run_parallel(
    S,
    rng,
    cells,
    seed,
    p,
    kt,
    kv,
    bps,
    mode,
    r_s,
    lim,
    cap,
    win,
    samp,
    amb,
    t_start,
    w_i,
    w_v,
    w_n,
    w_c,
    smp,
    fires,
    t_peak,
    steps,
):
    """:func:`run_cell` for ``cells`` spread over the cores (each cell its own time steps and draws)."""
    for j in prange(cells.size):
        fires[j], t_peak[j], steps[j] = run_cell(
            S,
            rng,
            cells[j],
            j,
            seed,
            p,
            kt,
            kv,
            bps,
            mode,
            r_s,
            lim,
            cap,
            win,
            samp,
            amb,
            t_start,
            w_i,
            w_v,
            w_n,
            w_c,
            smp,
        )


@njit
def init_cells(S, rng, seed, p, amb):
    """As-fabricated cells: device-to-device draws, a first cycle's draws, the TS off and recovered."""
    two = np.uint64(2)
    for c in range(S.shape[0]):
        cell, k = np.uint64(c), np.uint64(0)
        vth_dev = max(p[P_VTH] * (1.0 + p[P_VTH_D2D] * normal(seed, cell, k)), p[P_VHOLD] * 1.05)
        k += two
        S[c, S_RC] = p[P_R_C] * math.exp(p[P_R_D2D] * normal(seed, cell, k))
        k += two
        S[c, S_RA] = p[P_R_A] * math.exp(p[P_R_D2D] * normal(seed, cell, k))
        k += two
        S[c, S_VTH_CYC] = max(vth_dev * (1.0 + p[P_VTH_C2C] * normal(seed, cell, k)), p[P_VHOLD] * 1.02)
        k += two
        S[c, S_VT_F] = max(1.0 + p[P_VT_C2C] * normal(seed, cell, k), 0.5)
        k += two
        S[c, S_VTH_DEV] = vth_dev
        S[c, S_I0] = ts_i0(vth_dev, p)
        S[c, S_VTH_START] = S[c, S_VTH_CYC]
        S[c, S_T_OFF] = 1.0
        S[c, S_UQ] = p[P_U_INITIAL]
        S[c, S_U] = p[P_U_INITIAL]
        S[c, S_TEMP] = amb
        S[c, S_REST] = -math.inf
        S[c, S_TARGET] = 1.0
        S[c, S_NOISE] = p[P_SIGMA_READ] * normal(seed, cell, k)
        k += two
        rng[c] = k


@njit
def idle_cells(S, rng, cells, seed, p, duration, amb):
    """No drive for ``duration`` seconds, for cells already at rest (TS off, at the chuck temperature):
    recovery, the drift clock and crystallization at the chuck temperature advance analytically, and
    the electrodes discharge."""
    k_x = cryst_rate(amb, p)
    a_d = drift_rate(amb, p)
    for j in range(cells.size):
        c = cells[j]
        S[c, S_T_OFF] += duration
        S[c, S_PROG] = 0.0
        if S[c, S_REST] >= 0.0:
            S[c, S_REST] += duration
            if S[c, S_REST] > REST_DRAW_S:
                vth, vt_f, rng[c] = _cycle_draw(S[c, S_VTH_DEV], seed, np.uint64(c), rng[c], p)
                S[c, S_VTH_CYC], S[c, S_VTH_START], S[c, S_VT_F], S[c, S_REST] = vth, vth, vt_f, -math.inf
        S[c, S_TEMP] = amb + (S[c, S_TEMP] - amb) * math.exp(-duration / p[P_TAU_TH])
        S[c, S_T_EFF] += a_d * duration
        if S[c, S_U] > U_MIN and k_x > 0.0:
            S[c, S_THETA] += k_x * duration
            S[c, S_U] = amorphous_fraction(S[c, S_UQ], S[c, S_THETA], S[c, S_THETA0], p)
        # the electrodes discharge through the outputs' off-state impedance (~1 MOhm on the probe's pF)
        leak = math.exp(-duration / OFF_STATE_TAU_S)
        S[c, S_VNODE] *= leak
        S[c, S_VM] *= leak


@njit
def conductance(S, cells, p, temp_k, out):
    """The PCM's own low-field conductance (S) at ``temp_k``: the ground truth reads are checked against."""
    for j in range(cells.size):
        c = cells[j]
        r_a = S[c, S_RA] * window_factor(S[c, S_CYCLES], p) * math.exp(-S[c, S_T_OVER] / p[P_DAMAGE_TIME])
        out[j] = 1.0 / (S[c, S_RC] + amorphous_resistance(S[c, S_U], r_a, S[c, S_T_EFF], temp_k, p))


@njit
def thresholds(S, cells, p, temp_k, out_ts, out_cell):
    """The TS's present threshold (V) and the cell's DC threshold at zero series resistance (V): the
    voltage at which the TS's off current, through the PCM, puts the TS at its threshold."""
    for j in range(cells.size):
        c = cells[j]
        vth = ts_threshold(S[c, S_VTH_CYC], S[c, S_VTH_START], S[c, S_T_OFF], p)
        r_a = S[c, S_RA] * window_factor(S[c, S_CYCLES], p) * math.exp(-S[c, S_T_OVER] / p[P_DAMAGE_TIME])
        r = S[c, S_RC] + amorphous_resistance(S[c, S_U], r_a, S[c, S_T_EFF], temp_k, p)
        i = S[c, S_I0] * math.sinh(vth / p[P_V0_OFF])
        out_ts[j] = vth
        out_cell[j] = vth + i * r
