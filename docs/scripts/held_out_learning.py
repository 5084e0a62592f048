"""Held-out learning-loop runs (spikes to criterion, savings) of the round-trip devices, predicted by `tspcm fit
--check` (docs/fitting.md, "Held out: the learning loop"):

1. the three round-trip devices (tests/procedures/test_fit.py DEVICES), their runs as fit_roundtrip.py's (cells A and
   B: seeds 11, 12; iv-sweep, delay-recovery, retention), plus a pulse-train of each cell (PULSE_TRAIN: the
   SET/RESET amplitudes that SET and RESET that device's cells, the read's R_on the device's);
2. fitted twice: without the pulse-train runs (fit_roundtrip.py's file) and with them (the PCM's SET/RESET kinetics
   fitted too, what the learning loop's crystallization runs on);
3. a learning-loop run (the procedure's defaults) of the two fitted cells, and of six more cells of the same device
   (seeds 21-26: cells the fit never saw), predicted by `tspcm fit --check` (`--seeds 3`) with each file, the true
   one and the defaults;
4. slow-high's simulated cells with each file: the cell's drawn threshold, the calibrated spike amplitude or the
   calibration's failure, and the pulses to criterion.

Rewrites the part of docs/fitting.md between the heldout-learning markers.

    .venv/bin/python docs/scripts/held_out_learning.py [--workdir DIR]   # DIR: fit_roundtrip.py's; ~15 min

The round trip's runs and fitted files in DIR/<device>/ are reused; missing ones are simulated and fitted here, and so
are the checks (cached in DIR/<device>/checks.json by device file, runs and seeds).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import tempfile
from pathlib import Path

from doc_blocks import replace_block

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "fitting.md"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "procedures"))

#: measured: the pulse-train's default train (1.75 V SET, depression from 2.0 V) does not SET the slow-high and
#: resistive cells (their reads stay below the floor: a RESET cell's threshold is above 1.75 V there), and from
#: 2.0-2.3 V its depression does not RESET them below 30 uS (their larger R_on passes less current); these SET and
#: RESET them within the train (the fit's features: modelfit.pulse_train_features)
PULSE_TRAIN = {
    "slow-high": {"set_amplitude_V": 1.95, "reset_amplitude_V": 2.4},
    "fast-low": {},
    "resistive": {"set_amplitude_V": 1.95, "reset_amplitude_V": 2.5},
}
FITTED_SEEDS = (11, 12)  #: the cells the fit used (A, B)
MORE_SEEDS = (21, 22, 23, 24, 25, 26)  #: cells of the same device the fit never saw
#: bumped when what the check or the analysis reports changes (the cached checks and traces are then redone):
#: 2: first_reached a key figure (a share), pulses_retrain and savings only after a first training that reached
CACHE_VERSION = "2"


def pulse_train_runs(t, d: Path, true: dict, name: str) -> list[Path]:
    from procedures.pulse_train import PulseTrainProcedure

    out = []
    for seed in FITTED_SEEDS:
        p = d / f"pulse-train_{seed}.h5"
        if not p.exists():
            values = {"cycles": 4, **PULSE_TRAIN[name], "read_ts_on_resistance_ohm": true["ts.r_on_ohm"]}
            t.simulate(PulseTrainProcedure, values, p, seed, d / "true.toml")
        out.append(p)
    return out


def learning_runs(t, d: Path) -> tuple[list[Path], list[tuple[int, str]]]:
    """The learning-loop runs of the cells (FITTED_SEEDS, MORE_SEEDS) that completed, and (seed, message) of those
    that failed (the calibration finds no amplitude on some cells of a device: not comparable, said)."""
    from procedures.learning_loop import LearningLoopProcedure
    from tspcm_lab.store import open_run

    done, failed = [], []
    for seed in FITTED_SEEDS + MORE_SEEDS:
        p = d / f"learning-loop_{seed}.h5"
        if not p.exists():
            try:
                t.simulate(LearningLoopProcedure, {}, p, seed, d / "true.toml")
            except AssertionError:
                pass  # the run file says how it ended
        run = open_run(p)
        if run.status == "completed":
            done.append(p)
        else:
            failed.append((seed, str(run.error).strip().splitlines()[-1]))
    return done, failed


def checked(d: Path, device: Path, runs: list[Path]) -> list[dict]:
    """modelfit.check (3 simulated cells per run, two processes), cached in d/checks.json."""
    from tspcm_lab.analysis.modelfit import check

    cache = d / "checks.json"
    known = json.loads(cache.read_text()) if cache.exists() else {}
    key = hashlib.sha1((CACHE_VERSION + device.read_text() + "|".join(p.name for p in runs)).encode()).hexdigest()
    if key not in known:
        rows = check(device, runs, seeds=3, workers=2)
        known[key] = [
            {
                "figure": c.figure,
                "kind": c.kind,
                "interval": c.interval,
                "measured": c.measured,
                "predicted": c.predicted,
                "spread": c.spread,
                "within": c.within,
                "n_measured": c.n_measured,
                "n_predicted": c.n_predicted,
                "failed": c.failed,
                "note": c.note,
            }
            for c in rows
        ]
        cache.write_text(json.dumps(known, indent=1))
    return known[key]


def share(c: dict, side: str) -> str:
    """ "3 of 8": the cells that said yes of those with a value (a yes/no figure's check, measured or predicted)."""
    n = c[f"n_{side}"]
    return f"{round(c[side] * n)} of {n}" if n else "-"


def fmt(x, spec=".3g") -> str:
    return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, spec)


def calibration_trace(d: Path, true: dict, values: dict) -> list[str]:
    """slow-high: each simulated cell of `tspcm fit --check`'s seeds (two runs x 3) with the fitted file, the true
    one, and the fitted file with one parameter at a time set to its true value: the cell's drawn threshold, the
    calibrated spike amplitude (or the calibration's failure), pulses to criterion first / retraining."""
    from concurrent.futures import ProcessPoolExecutor

    from held_out_trace import with_value

    from tspcm_lab.analysis.modelfit import SEED0

    seeds = [SEED0 + 102 * s + 3 * r for r in range(2) for s in range(3)]
    fitted = (d / "fitted.toml").read_text()
    cases = [("fitted file", d / "fitted.toml"), ("true file", d / "true.toml")]
    for name, v in {**true, "ts.vth_d2d_rel": 0.05}.items():
        p = d / f"trace_{name}.toml"
        p.write_text(with_value(fitted, name, v))
        cases.append((f"fitted, {name} true", p))
    cache = d / "calibration_trace.json"
    known = json.loads(cache.read_text()) if cache.exists() else {}
    jobs = []
    for _, dev in cases:
        for seed in seeds:
            key = hashlib.sha1((CACHE_VERSION + dev.read_text() + str(seed)).encode()).hexdigest()
            if key not in known:
                jobs.append((key, str(dev), seed, values))
    with ProcessPoolExecutor(2) as ex:
        for key, res in zip([j[0] for j in jobs], ex.map(one_cell, [j[1:] for j in jobs])):
            known[key] = res
    cache.write_text(json.dumps(known, indent=1))
    rows = ["| device file | " + " | ".join(f"cell {s}" for s in seeds) + " | calibration failed |"]
    rows.append("|---|" + "---|" * len(seeds) + "---|")
    for label, dev in cases:
        got = [known[hashlib.sha1((CACHE_VERSION + dev.read_text() + str(s)).encode()).hexdigest()] for s in seeds]
        cells = [
            f"{g['vth']:.3f} V: "
            + (
                f"{g['amp']:.2f} V, {fmt(g['pulses_first'], '.0f')} / {fmt(g['pulses_retrain'], '.0f')}"
                if g["status"] == "completed"
                else "**calibration failed**"
            )
            for g in got
        ]
        rows.append(f"| {label} | " + " | ".join(cells) + f" | {sum(g['status'] != 'completed' for g in got)} of 6 |")
    return rows


def one_cell(job) -> dict:
    """A learning-loop run (``values``) on ``device`` with ``seed``: the cell's drawn threshold, status, spike
    amplitude and key figures (a process pool's job)."""
    import warnings

    import pyvisa_tspcm
    from procedures.learning_loop import LearningLoopProcedure
    from tspcm_lab import runner
    from tspcm_lab.keyfigures import run_features
    from tspcm_lab.store import open_run

    device, seed, values = job
    with tempfile.TemporaryDirectory() as tmp:
        with warnings.catch_warnings(), runner.BenchSession.open("sim", seed=seed, sim_options=f"device={device}") as s:
            warnings.simplefilter("ignore", RuntimeWarning)
            vth = float(pyvisa_tspcm.get_bench(s.spec).model.state.vth_device_v[0])
            proc = runner.build_procedure(LearningLoopProcedure, values, s)
            runner.validate(proc)
            out = runner.execute(proc, s, Path(tmp) / "r.h5", seed=seed)
        res = {"vth": vth, "status": out.status, "amp": math.nan, "pulses_first": math.nan, "pulses_retrain": math.nan}
        if out.status == "completed":
            res["amp"] = float(open_run(out.path).to_pandas()["Spike amplitude (V)"].iloc[0])
            res.update(run_features(out.path)[1])
    return res


def main() -> None:
    import tomllib

    import test_fit as t
    from fit_roundtrip import device_runs

    from tspcm_lab.analysis.devicefit import fit_runs, render
    from tspcm_lab.store import open_run

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", help="fit_roundtrip.py's folder (default: a temporary one, everything simulated)")
    args = ap.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="held_out_learning_"))
    rows = [
        "| device | device file | cells | key figure | measured | predicted | error | spread | error / spread | "
        "within |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    kinetics = ["| device | parameter | true | fitted | 95 % interval | identified |", "|---|---|---|---|---|---|"]
    conditions = ["| device | device file | cells | simulated runs failed | simulated runs compared |"]
    conditions.append("|---|---|---|---|---|")
    measured_failed, trace = [], []
    from sim_backend.params import DeviceParams

    defaults = DeviceParams.load(None)
    for name, true in t.DEVICES.items():
        d = work / name
        d.mkdir(parents=True, exist_ok=True)
        paths, _held = device_runs(t, d, true)
        pts = pulse_train_runs(t, d, true, name)
        if not (d / "fitted.toml").exists():
            (d / "fitted.toml").write_text(render(fit_runs(paths, cells=["A"] * 3 + ["B"] * 3, loop=True, workers=2)))
        if not (d / "fitted_pt.toml").exists():
            both = paths[:3] + pts[:1] + paths[3:] + pts[1:]
            (d / "fitted_pt.toml").write_text(render(fit_runs(both, cells=["A"] * 4 + ["B"] * 4, loop=True, workers=2)))
        fitted_pt = tomllib.loads((d / "fitted_pt.toml").read_text())
        for p in ("k_cryst_max_per_s", "jmak_n", "r_th_k_per_w"):
            e = fitted_pt["pcm"].get(p)
            if e is not None:
                iv = e.get("interval")
                kinetics.append(
                    f"| {name} | `pcm.{p}` | {defaults['pcm.' + p]:.3g} | {e['value']:.3g} | "
                    f"{'[' + ', '.join(f'{x:.3g}' for x in iv) + ']' if iv else 'none'} | "
                    f"{'yes' if e['basis'] == 'fitted' else '**no**'} |"
                )
        ll, failed = learning_runs(t, d)
        measured_failed += [f"{name} cell {seed}: {msg}" for seed, msg in failed]
        (d / "defaults.toml").write_text("[ts]\n")
        files = [
            ("fitted, with pulse-train", d / "fitted_pt.toml"),
            ("fitted, without", d / "fitted.toml"),
            ("true", d / "true.toml"),
            ("defaults", d / "defaults.toml"),
        ]
        two = [p for p in ll if int(p.stem.split("_")[1]) in FITTED_SEEDS]
        for cells, runs in (("A, B", two), (f"{len(ll)}", ll)):
            for label, dev in files:
                res = checked(d, dev, runs)
                for c in res:
                    err = c["predicted"] - c["measured"]
                    verdict = {True: "yes", False: "**NO**", None: "-"}[c["within"]]
                    if c["kind"] == "share":  # k of n cells, and the 95 % interval of the shares' difference
                        iv = c["interval"]
                        rows.append(
                            f"| {name} | {label} | {cells} | `{c['figure']}` | {share(c, 'measured')} | "
                            f"{share(c, 'predicted')} | {fmt(err, '+.2f')} | "
                            f"{'[' + ', '.join(format(x, '+.2f') for x in iv) + ']' if iv else '-'} | - | {verdict} |"
                        )
                        conditions.append(
                            f"| {name} | {label} | {cells} | {c['failed']} of {3 * len(runs)} | {c['n_predicted']} |"
                        )
                        continue
                    ratio = abs(err) / c["spread"] if c["spread"] and math.isfinite(err) else math.nan
                    rows.append(
                        f"| {name} | {label} | {cells} | `{c['figure']}` | {fmt(c['measured'], '.4g')} "
                        f"({c['n_measured']}) | {fmt(c['predicted'], '.4g')} ({c['n_predicted']}) | {fmt(err, '+.3g')} | "
                        f"{fmt(c['spread'])} | {fmt(ratio, '.2f')} | {verdict} |"
                    )
                print(rows[-1], conditions[-1], flush=True)
        if name == "slow-high":
            trace = calibration_trace(d, true, dict(open_run(two[0]).parameter_values))
    md = [
        "<!-- heldout-learning:start (generated by docs/scripts/held_out_learning.py; do not edit by hand) -->",
        "",
        "The PCM's kinetics fitted from the pulse-train runs (the round-trip devices keep the defaults' kinetics: "
        "'true' is the default):",
        "",
        *kinetics,
        "",
        "Held out: a learning-loop run (the procedure's defaults) of the two fitted cells (A, B) and of six more "
        "cells of the same device (seeds 21-26, never fitted), predicted by `tspcm fit --check` (`--seeds 3`) "
        "with each device file. `first_reached`: the cells whose first training reached the criterion, of those "
        "compared; within when the 95 % interval of the shares' difference (predicted - measured, "
        "Newcombe-Wilson; in the spread column) holds 0. The counts: the mean over the cells that reached it (their "
        "number in brackets; `pulses_retrain` and `savings` only after a first training that reached it); within "
        "when |error| <= 2 sigma, sigma the measured cells' sample sigma:",
        "",
        *rows,
        "",
        "Simulated runs that failed (their calibration found no spike amplitude: said by the check, left out of "
        "the comparison) and the simulated runs compared:",
        "",
        *conditions,
        "",
        "Measured cells whose learning-loop run failed (left out of the checks): "
        + ("; ".join(measured_failed) if measured_failed else "none")
        + ".",
        "",
        "slow-high, `tspcm fit --check`'s six simulated cells (its seeds for two runs): the cell's drawn threshold, "
        "then the calibrated spike amplitude and pulses to criterion (first / retraining; '-': not reached within "
        "80 trains, or a first training that did not reach it), or the calibration's failure:",
        "",
        *trace,
        "",
        "<!-- heldout-learning:end -->",
    ]
    replace_block(DOC, "heldout-learning", "\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
