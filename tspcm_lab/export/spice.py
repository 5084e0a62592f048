"""The ngspice behavioural subcircuit of a TS-PCM cell (``tspcm export spice``).

``.subckt tspcm_cell top bot``: the phase-change layer between ``top`` and the inner node ``m`` (the
amorphous thickness u, its threshold switching and hold, JMAK crystallization, melt-quench, drift), the
threshold switch between ``m`` and ``bot`` (sinh off branch, delay, on branch, hold, recovery), the TS's
own capacitance at ``m``, and the lumped thermal node. States are 1 F-style integrator nodes (a capacitor
charged by a B source); read them as ``v(x1.u)`` (amorphous thickness), ``v(x1.tk)`` (temperature, K),
``v(x1.ts)`` (TS on, 0/1), ``v(x1.g)`` (the PCM's low-field conductance at the chuck temperature, S).

Every device parameter is a subcircuit parameter (override per instance: ``x1 a 0 tspcm_cell
ts_vth_v=1.3``), plus the instance's initial state ``u0`` and chuck temperature ``tamb``. The states start
from their capacitors' ``ic``: run ``.tran ... uic``.
"""

from __future__ import annotations

from string import Template

from tspcm_lab import __version__
from tspcm_lab.export import equations as eq
from tspcm_lab.export.device import ExportDevice

SUBCKT = "tspcm_cell"


def _num(x: float) -> str:
    return repr(float(x))


def used_defaults_of(dev: ExportDevice) -> list[str]:
    """The parameters the compact model uses and the device file does not list (data/device_params.toml's
    values); the others of ``dev.defaults`` are the spreads and noises the compact model leaves out."""
    return [n for n in dev.defaults if n in eq.USED]


def header_lines(dev: ExportDevice, comment: str) -> list[str]:
    """Provenance lines (without the comment marker): file, defaults, what is left out."""
    lines = [
        f"TS-PCM compact model written by tspcm-lab {__version__} (tspcm export; docs/fitting.md)",
        f"device file: {dev.path}",
        f"from the device file ({len(dev.from_file)}): " + (", ".join(dev.from_file) or "none"),
    ]
    weak = [n for n in dev.not_identified if n in eq.USED]
    if weak:
        lines.append(
            f"NOT IDENTIFIED ({len(weak)}): "
            + ", ".join(weak)
            + ': basis "not identified" in the device file: a value that reproduces its runs, which do not'
        )
        lines.append("  measure it (no interval); its device file's header says why and which run would measure it")
    used_defaults = used_defaults_of(dev)
    if used_defaults:
        lines.append(f"defaults of data/device_params.toml ({len(used_defaults)}): " + ", ".join(used_defaults))
    lines += [
        "deterministic: the switching delay fires at its mean (integrated progress 1), no c2c/d2d spread,",
        "no programming/RESET/read noise (compare with the Python model with its noise off);",
        "left out: " + "; ".join(f"{n} ({why})" for n, why in eq.LEFT_OUT.items()),
    ]
    return [f"{comment} {line}" for line in lines]


def subcircuit(dev: ExportDevice) -> str:
    """The netlist text: comments, then ``.subckt tspcm_cell top bot params: ...`` ... ``.ends``."""
    eq.check_constants()
    v = dev.value
    params = [f"+ {eq.spice_name(n)}={_num(v(n))}" for n in eq.USED]
    text = "\n".join(
        ["* " + SUBCKT + ": TS-PCM cell (threshold switch under a phase-change layer)"]
        + header_lines(dev, "*")
        + [
            "* usage:  x1 top 0 tspcm_cell [u0=1 tamb=300 <parameter>=<value> ...]",
            "*         .tran <step> <stop> uic      (the states start from their ic: uic is required)",
            "* outputs: v(x1.u) amorphous thickness, v(x1.tk) temperature (K), v(x1.ts) TS on (0/1),",
            "*          v(x1.pc) amorphous part switched on (0/1), v(x1.g) PCM conductance at tamb (S)",
            f".subckt {SUBCKT} top bot params:",
            *params,
            f"+ u0={_num(v('pcm.u_initial'))} tamb=300",
            body(),
            f".ends {SUBCKT}",
        ]
    )
    return text + "\n"


def body() -> str:
    """The subcircuit's body (elements, no parameters), with the compact model's constants filled in."""
    return Template(_BODY.strip("\n")).substitute(
        kb=_num(eq.K_B_EV),
        tl=_num(eq.LATCH_S),
        tc=_num(eq.COMMIT_S),
        trel=_num(eq.PCM_RELEASE_S),
        rearm=_num(1.0 + eq.REARM_REL),
        umin=_num(eq.U_MIN),
        gtau=_num(eq.GLASS_TAU_S),
        gfrag=_num(eq.GLASS_FRAGILITY_K),
    )


def write(dev: ExportDevice) -> str:
    """The file ``tspcm export spice`` writes: the subcircuit, to ``.include`` in a user's netlist."""
    return subcircuit(dev)


# The body of the subcircuit. Node voltages of the state nodes are the states (SI); B sources charge
# capacitors of value C with current C * rate, so that dV/dt = rate. Hard conditions use ternaries.
_BODY = r"""
.param kb=${kb} i0={ts_i_th_a/sinh(ts_vth_v/ts_v0_off_v)} cmts={ts_c_ts_f+1e-18}
.param tl=${tl} tc=${tc} trel=${trel} rearm=${rearm} umin=${umin}
* smooth steps: st(s) of a latch state (0/1), sw(x) of a condition x > 0 (scaled to its resolution), so
* that no element switches between two Newton iterations of one time step. A latch's target is
* max(set condition, sh(state) x hold condition): its hold takes over at 0.2, before the element conducts
* (st, at 0.5), so that the conduction's own effect on the set condition cannot stop it half-way
.func st(x) {0.5*(1+tanh(40*(x-0.5)))}
.func sh(x) {0.5*(1+tanh(40*(x-0.2)))}
.func sw(x) {0.5*(1+tanh(max(min(x,50),-50)))}
* ---- derived quantities (voltage nodes) ----
* amorphous thickness u = u_q exp(theta0^n - theta^n)
Bu u 0 V = min(max(V(uq)*exp(pwr(max(V(th0),0),pcm_jmak_n) - pwr(max(V(th),0),pcm_jmak_n)),0),1)
* drift factor (t_eff/t0)^nu and the amorphous resistance at the present temperature
Bdf df 0 V = pwr(max(V(te)/pcm_t0_drift_s,1),pcm_nu_drift)
Bra ra 0 V = V(ur)*pcm_r_amorph_ohm*V(df)*exp(pcm_ea_conduction_ev/kb*(1/max(V(tk),1)-1/300))
Bg g 0 V = 1/(pcm_r_cryst_ohm + V(u)*pcm_r_amorph_ohm*V(df)*exp(pcm_ea_conduction_ev/kb*(1/tamb-1/300)))
* amorphous threshold (none without a dome)
Bvt vt 0 V = V(ur) > umin ? pcm_vt0_v + pcm_vt_slope_v*V(ur) + pcm_vt_drift_v_per_decade*V(ur)*log10(max(V(te)/pcm_t0_drift_s,1)) : 1e3
* TS threshold after recovery from where it let go
Bvth vth 0 V = ts_vth_v + (V(vs) - ts_vth_v)*exp(-V(to)/ts_tau_recovery_s)
* ---- the PCM layer (top - m): ohmic, or holding pcm_vh_v once switched ----
Bip ip 0 V = (1-st(V(pc)))*V(top,m)/(pcm_r_cryst_ohm+V(ra)) + st(V(pc))*sgn(V(top,m))*max((abs(V(top,m))-pcm_vh_v)/pcm_r_cryst_ohm, abs(V(top,m))/(pcm_r_cryst_ohm+V(ra)))
Bp top m I = V(ip)
* ---- the threshold switch (m - bot): sinh off branch, Vhold + I R_on when on ----
Bion ion 0 V = max(abs(V(m,bot))-ts_vhold_v,0)/ts_r_on_ohm
Bit it 0 V = st(V(ts))*sgn(V(m,bot))*V(ion) + (1-st(V(ts)))*i0*sinh(max(min(V(m,bot)/ts_v0_off_v,80),-80))
Bt m bot I = V(it)
Cts m bot {cmts}
* ---- state: temperature (K), tau_th dT/dt = T_chuck + R_th P - T ----
Ctk tk 0 {pcm_tau_th_s} ic={tamb}
Btk 0 tk I = tamb + pcm_r_th_k_per_w*pcm_heat_coupling*(abs(V(ip)*V(top,m)) + ts_heat_to_pcm*abs(V(it)*V(m,bot))) - V(tk)
* ---- state: TS on/off latch (on: fires when the delay progress reaches 1; off: current below i_hold) ----
Cts_on ts 0 {tl} ic=0
Bts_on 0 ts I = max(sw(2000*(V(pg)-1)), sh(V(ts))*sw((V(ion)-ts_i_hold_a)/(0.02*ts_i_hold_a))) - V(ts)
* switching-delay progress: d/dt = 1/t_d above the recovered threshold, cleared below it and while on
Bov ov 0 V = abs(V(m,bot)) - V(vth)
Cpg pg 0 1e-12 ic=0
Bpg 0 pg I = 1e-12*((1-st(V(ts)))*sw(V(ov)/1e-3)*min(exp(min(V(ov)/ts_v0_delay_v,60))/ts_t_d0_s, 1e13) - (1-(1-st(V(ts)))*sw(V(ov)/1e-3))*V(pg)/tc)
* time since turn-off, and the threshold recovery starts from (the TS's own voltage at turn-off)
Cto to 0 1 ic=1
Bto 0 to I = (1-st(V(ts))) - st(V(ts))*V(to)/tc
* x = asinh(I_off/I0) of the TS's off branch with the whole cell voltage across it and the PCM (kernel._off_solve):
* v0 x + (R_c + R_am) I0 sinh(x) = |V_cell|, solved by the simulator at the node xo
Bxo 0 xo I = 1e-3*(ts_v0_off_v*V(xo) + (pcm_r_cryst_ohm+V(ra))*i0*sinh(max(min(V(xo),80),0)) - abs(V(top,bot)))
Rxo xo 0 1e12
Cvs vs 0 1e-12 ic={ts_vth_v}
Bvs 0 vs I = 1e-12*st(V(ts))*(max(ts_v0_off_v*V(xo), ts_vhold_v)*rearm - V(vs))/tc
* ---- state: the amorphous part's switch-on latch (on at V_t, lets go ~trel after it stops holding) ----
* holding: above its knee (I u R_a >= Vh), and carrying at least the TS's holding current: with the TS off, the
* settled off current does not hold it (the kernel drops the switched state in a settled step with the TS off)
Bhd hd 0 V = sw((abs(V(top,m))*V(ra) - pcm_vh_v*(pcm_r_cryst_ohm+V(ra)))/(0.01*pcm_vh_v*(pcm_r_cryst_ohm+V(ra))))*sw((V(ipf) - ts_i_hold_a)/(0.1*ts_i_hold_a))
* |I_pcm| seen through a 10 ps filter (the condition then depends on a state, not on the latch it sets)
Cipf ipf 0 {tl} ic=0
Bipf 0 ipf I = abs(V(ip)) - V(ipf)
Cpc pc 0 {tl} ic=0
Bpct pct 0 V = max(sw((abs(V(top,m))-V(vt))/1e-3), sh(V(pc))*V(hd))
Bpc 0 pc I = (V(pct) - V(pc))*(V(pct) > V(pc) ? 1 : tl/(trel/0.6931))
* ---- state: JMAK progress theta, the dome u_q and its inherited progress theta0 ----
* k(T) = D(T)/(1/k_A + 1/k_max), D = 0 from the melt up. While molten, a molten dome m(T) larger than u
* becomes the dome: u_q <- m, theta = theta0 <- theta_head (1 - m) (the kernel does this on solidifying, with
* the largest m of the melt: the same end state). The amorphous part conducts with ur, u as it was before the
* melt, until the melt solidifies.
Bk k 0 V = (1-exp(-max(pcm_t_melt_k-V(tk),0)/pcm_driving_width_k))/(pcm_tau_cryst_ref_s*exp(min(pcm_ea_cryst_ev/kb*(1/max(V(tk),1)-1/pcm_t_cryst_ref_k),600)) + 1/pcm_k_cryst_max_per_s)
Bmm mm 0 V = min(max((V(tk)-pcm_t_melt_k)/(pcm_t_full_melt_k-pcm_t_melt_k),0),1)
Bml ml 0 V = sw((V(tk)-pcm_t_melt_k)/5)
Bcmt cmt 0 V = V(ml)*sw((V(mm)-V(u)-2e-3)/5e-4)
Cth th 0 1e-6 ic=0
Bth 0 th I = 1e-6*((V(u) > umin ? V(k) : 0) + V(cmt)*(pcm_theta_head*(1-V(mm)) - V(th))/tc)
Cth0 th0 0 1e-12 ic=0
Bth0 0 th0 I = 1e-12*V(cmt)*(pcm_theta_head*(1-V(mm)) - V(th0))/tc
Cuq uq 0 1e-12 ic={u0}
Buq 0 uq I = 1e-12*V(cmt)*(V(mm) - V(uq))/tc
Cur ur 0 1e-12 ic={u0}
* frozen from ~10 K below the melt, so that the conducting part cannot change while a dome melts
Bfr fr 0 V = sw((V(tk)-pcm_t_melt_k+15)/3)
Bur 0 ur I = 1e-12*(1-V(fr))*(V(u) - V(ur))/tc
* ---- state: drift clock t_eff (s): runs (activated) below T_g, relaxes above it (a melt clears it) ----
Bhot hot 0 V = sw(V(tk)-pcm_t_glass_k)
Cte te 0 1 ic=0
Bte 0 te I = -V(hot)*V(te)/max(${gtau}*exp(-(V(tk)-pcm_t_glass_k)/${gfrag}),1e-10) + (1-V(hot))*exp(-pcm_ea_drift_ev/kb*(1/min(V(tk),pcm_t_glass_k)-1/300))
Rl1 tk 0 1e15
Rl2 th 0 1e15
Rl3 te 0 1e15
"""
