"""Why tau_recovery is not fitted model-in-the-loop (docs/fitting.md, Measured limits): the delay-recovery
analysis' tau read from the simulated cell as its configured tau moves in 5 % steps, on two fixed seeds, with
the outside try's device (Vth 1.3 V, t_d0 150 ns, no device-to-device draw) and the round trip's settings. A
loop fit matches this estimate; it does not follow the configured tau smoothly.

    .venv/bin/python docs/scripts/tau_estimator_sweep.py      # ~1 min: 14 recovery-only runs
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "procedures"))


def main() -> None:
    import test_fit as t

    from procedures.delay_recovery import DelayRecoveryProcedure
    from tspcm_lab.analysis.registry import get_analysis
    from tspcm_lab.store import open_run

    cell = {"ts.vth_v": 1.3, "ts.vhold_v": 0.5, "ts.r_on_ohm": 5000.0, "ts.tau_recovery_s": 4e-7}
    values = {**t.settings(DelayRecoveryProcedure, cell), "measure_delay": False}
    print("seed  configured tau (ns)  estimated tau (ns)")
    for seed in (7919, 7920):
        for tau in (3.4e-7, 3.6e-7, 3.8e-7, 4.0e-7, 4.2e-7, 4.4e-7, 4.6e-7):
            with tempfile.TemporaryDirectory() as d:
                dev = t.device_file(
                    Path(d) / "dev.toml",
                    {"ts.vth_v": 1.3, "ts.t_d0_s": 1.5e-7, "ts.tau_recovery_s": tau, "ts.vth_d2d_rel": 0.0},
                )
                path, _ = t.simulate(DelayRecoveryProcedure, values, Path(d) / "r.h5", seed, dev)
                f = {x.name: x.value for x in get_analysis("delay-recovery")(open_run(path)).features}
                print(f"{seed}  {tau * 1e9:19.0f}  {f['recovery_tau_s'] * 1e9:18.0f}", flush=True)


if __name__ == "__main__":
    main()
