"""``python -m sim_backend.demo``: the device model's behaviour in figures, straight from the model.

Each section runs the experiment a device engineer would (through the default bench's series
resistances, in virtual time) and prints the figures the device-model issue asks for. Reproducible from
``--seed``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.stats import spearmanr

from sim_backend import experiments as ex
from sim_backend.model import CellArray
from sim_backend.params import DeviceParams
from sim_backend.waveform import Waveform


def _cell(seed: int, u: float | None = None, **overrides) -> CellArray:
    params = DeviceParams.load().replace(**overrides) if overrides else DeviceParams.load()
    m = CellArray(params, seed=seed)
    if u is not None:
        m.state.u[:] = u
    return m


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim_backend.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    seed = parser.parse_args(argv).seed
    t_wall = time.perf_counter()
    us = 1e6

    print("1. Threshold switching (0 -> 2 V -> 0, 10 mV steps, 1 kOhm + 50 Ohm, 30 uA compliance)")
    m = _cell(seed, u=0.4)
    g0 = m.pcm_conductance_s()[0]
    levels, cur = ex.ramp_iv(m)
    cur = cur[0]
    n = levels.size // 2
    ok = levels >= 0.05
    up_v, up_i, dn_v, dn_i = levels[:n][ok[:n]], cur[:n][ok[:n]], levels[n:][ok[n:]], cur[n:][ok[n:]]
    j = int(np.argmax(np.diff(np.log10(up_i))))
    k = int(np.argmax(-np.diff(np.log10(dn_i))))
    print(f"   Vth = {up_v[j + 1]:.2f} V (jump {np.log10(up_i[j + 1] / up_i[j]):.1f} decades, "
          f"off current {up_i[j]:.1e} A); turn-off at {dn_v[k]:.2f} V on the way down")
    print(f"   PCM conductance {g0 * us:.2f} -> {m.pcm_conductance_s()[0] * us:.2f} uS (sweep below the SET regime)")

    print("2. Synaptic plasticity (2.0 V x 1 us SET pulses through 100 Ohm; 50 ns RESET pulses)")
    m = _cell(seed + 1)
    g = ex.potentiation(m, pulses=40)[:, 0]
    a, g_min, g_max, r2 = ex.fit_neurosim(np.arange(g.size), g)
    print(f"   G after 0/5/10/20/40 pulses: {', '.join(f'{g[i] * us:.1f}' for i in (0, 5, 10, 20, 40))} uS; "
          f"Gmax/Gmin = {g[-1] / g[0]:.0f}; Spearman rho = {spearmanr(np.arange(g.size), g).statistic:.2f}")
    print(f"   NeuroSim fit: A = {a:.1f} pulses (A/Pmax = {a / 40:.2f}), Gmin = {g_min * us:.1f} uS, "
          f"Gmax = {g_max * us:.1f} uS, R^2 = {r2:.3f}")
    ladder = []
    for amp in (2.2, 2.25, 2.3, 2.35, 2.4, 2.8):
        c = _cell(seed + 2, u=0.05)
        before = c.pcm_conductance_s()[0]
        c.apply(ex.reset_pulse(amp), r_series_ohm=ex.R_AWG_OHM)
        c.idle(1e-3)
        ladder.append(f"{amp} V: {before / c.pcm_conductance_s()[0]:.1f}x")
    print(f"   RESET from {before * us:.0f} uS, depression factor by amplitude: {'; '.join(ladder)}")

    print("3. Intrinsic plasticity")
    rows = []
    for u in (0.97, 0.95, 0.92, 0.88, 0.84, 0.8):
        c = _cell(seed + 3, u=u)
        rows.append((c.pcm_conductance_s()[0], ex.firing_threshold_v(c)[0]))
    print("   firing threshold vs G: " + "; ".join(f"{gg * us:.1f} uS -> {v:.2f} V" for gg, v in rows))
    probs = []
    for u in (1.0, 0.97, 0.94, 0.9):
        c = _cell(seed + 4, u=u, pcm__heat_coupling=0.0)
        probs.append((c.pcm_conductance_s()[0], ex.firing_probability(c, 1.75)[0]))
    print("   firing probability, 40 spikes of 1.75 V: " + "; ".join(f"{gg * us:.1f} uS -> {p:.2f}" for gg, p in probs))
    freqs = []
    for u in (0.98, 0.97, 0.96, 0.95, 0.94):  # the amorphous-rich range; above ~15 uS the TS alone sets it
        c = _cell(seed + 5, u=u)
        freqs.append((c.pcm_conductance_s()[0], ex.oscillation_frequency_hz(c, duration_s=50e-6)[0]))
    print("   oscillation, 2.5 V via 1 MOhm, 10 pF across the cell: "
          + "; ".join(f"{gg * us:.1f} uS -> {f / 1e6:.2f} MHz" for gg, f in freqs))

    print("4. Positive feedback and savings (trains of 10 spikes x 100 ns at a calibrated near-threshold amplitude; "
          "criterion 8/10; forget = one 2.3 V x 50 ns partial RESET)")
    for label, overrides in (("coupled", {}), ("no heating from firing", {"pcm__heat_coupling": 0.0})):
        c = _cell(seed + 6, **overrides)
        amp = ex.calibrate_spike_amplitude(c)
        first = ex.train_to_criterion(c, amplitude_v=amp)
        fires = [int(f[0]) for f in first.fires_per_train]
        n1 = first.spikes_to_criterion[0]
        shown = f"{fires[:15]}{' ...' if len(fires) > 15 else ''}"
        if n1 < 0:
            print(f"   {label} ({amp:.2f} V): firing per train {shown}: criterion not reached in {len(fires) * 10} "
                  f"spikes; G stays {c.pcm_conductance_s()[0] * us:.1f} uS")
            continue
        g_trained = c.pcm_conductance_s()[0]
        ex.forget(c)
        g_forgot = c.pcm_conductance_s()[0]
        n2 = ex.train_to_criterion(c, amplitude_v=amp).spikes_to_criterion[0]
        print(f"   {label} ({amp:.2f} V): firing per train {shown}, G -> {g_trained * us:.1f} uS; first training {n1} "
              f"spikes; forgetting -> {g_forgot * us:.1f} uS; retraining {n2} spikes; savings {ex.savings(n1, n2):.2f}")

    print("5. Volatility and drift")
    c = _cell(seed + 7, u=0.3)
    c.apply(Waveform.pulses(1.6, 100e-9, 110e-9, rise_s=5e-9, fall_s=5e-9), r_series_ohm=ex.R_AWG_OHM)
    tau = c.params["ts.tau_recovery_s"]
    rec, elapsed = [], 0.0
    for d in (0.3, 1, 3, 10):
        c.idle(d * tau - elapsed)
        elapsed = d * tau
        rec.append(f"{c.ts_threshold_v()[0]:.3f}")
    print(f"   TS threshold 0.3/1/3/10 tau after turn-off (tau = {tau * 1e9:.0f} ns): {', '.join(rec)} V "
          f"(hold {c.params['ts.vhold_v']} V, full {c.state.vth_cycle_v[0]:.3f} V)")
    nu_a = ex.drift_nu(_cell(seed + 8, u=1.0))[0]
    nu_c = ex.drift_nu(_cell(seed + 8, u=0.02))[0]
    print(f"   drift 1 s .. 1e4 s: amorphous nu = {nu_a:.3f} (configured {c.params['pcm.nu_drift']}), "
          f"crystalline nu = {nu_c:.4f}")

    print("6. Reproducibility: same seed twice ->", end=" ")
    runs = [ex.potentiation(_cell(seed + 9), pulses=5)[:, 0] for _ in range(2)]
    print("identical" if np.array_equal(*runs) else "DIFFERENT")

    print("7. A 4x4 array learns a pattern (train, forget, retrain), cells in parallel")
    pattern = np.array([[1, 0, 0, 1], [0, 1, 1, 0], [0, 1, 1, 0], [1, 0, 0, 1]])
    arr = CellArray(DeviceParams.load(), shape=(4, 4), seed=seed + 10)
    t0 = time.perf_counter()
    amp = ex.calibrate_spike_amplitude(arr, np.argwhere(pattern > 0))
    res = ex.learn_pattern(arr, pattern, amplitude_v=amp)
    dt = time.perf_counter() - t0
    trained = res["map_trained_s"] * us
    print(f"   calibrated amplitude {amp:.2f} V; spikes to criterion: first {res['first'].spikes_to_criterion.max()}, retrain "
          f"{res['retrain'].spikes_to_criterion.max()}, savings {res['savings']:.2f}; wall time {dt:.2f} s")
    print("   trained conductance map (uS):")
    for row in trained:
        print("     " + " ".join(f"{v:6.1f}" for v in row))
    print(f"demo finished in {time.perf_counter() - t_wall:.1f} s of wall time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
