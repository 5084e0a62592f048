"""Learning on ten seeds: learning-loop (one cell) and pattern (the 4x4 array) on the simulated bench,
each analysed as a user's run would be. Prints one row per seed and run, and the count of seeds with
positive feedback (the firing probability rising as the cell learns) and savings (relearning faster).

    python docs/scripts/learning_seeds.py [--seeds 10] [--procedure learning-loop|pattern|both]
    python docs/scripts/learning_seeds.py --forget 2.0 2.15 2.3 2.6 --seeds 5

(the second: learning-loop's savings against the forgetting pulse's amplitude; a full RESET leaves none)

Its output is quoted in docs/procedures.md; rerun it after a change to the model or the procedures.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

import numpy as np

from procedures.learning_loop import LearningLoopProcedure
from procedures.pattern import PatternProcedure
from tspcm_lab import runner
from tspcm_lab.analysis.registry import get_analysis
from tspcm_lab.store import open_run


def run(cls, bench: str, seed: int, folder: Path, values=None):
    with runner.BenchSession.open(bench, seed=seed) as session:
        procedure = runner.build_procedure(cls, values or {}, session)
        runner.validate(procedure)
        tag = "_".join(f"{k}{v}" for k, v in sorted((values or {}).items()))
        outcome = runner.execute(procedure, session, folder / f"{cls.name}_{seed}{tag}.h5", seed=seed)
    if outcome.status != "completed":
        return None, outcome.message
    result = open_run(outcome.path)
    return result, {f.name: f.value for f in get_analysis(cls.name)(result).features}


def learning_loop_row(seed: int, folder: Path, values=None) -> tuple[bool, bool, str]:
    result, f = run(LearningLoopProcedure, "sim", seed, folder, values)
    if result is None:
        return False, False, f"failed: {f}"
    c = result.columns
    first = (c["Stage"] == 0) & (c["Train"] > 0)
    p = c["Firing probability"][first]
    k = max(1, p.size // 3)
    feedback = bool(np.nanmean(p[-k:]) > np.nanmean(p[:k]))  # fires more often as the weight grows
    savings = bool(f["pulses_retrain"] < f["pulses_first"])
    return (
        feedback,
        savings,
        (
            f"trains to criterion {f['pulses_first']:.0f} -> {f['pulses_retrain']:.0f} "
            f"(savings {f['savings']:.0%}); firing probability {np.nanmean(p[:k]):.2f} -> "
            f"{np.nanmean(p[-k:]):.2f}"
        ),
    )


def pattern_row(seed: int, folder: Path) -> tuple[bool, bool, str]:
    result, f = run(PatternProcedure, "sim-4x4", seed, folder)
    if result is None:
        return False, False, f"failed: {f}"
    feedback = bool(f["final_accuracy"] >= 1.0)
    savings = bool(f["epochs_retrain"] < f["epochs_first"])
    return (
        feedback,
        savings,
        (
            f"epochs {f['epochs_first']:.0f} -> {f['epochs_retrain']:.0f} "
            f"(savings {f['savings']:.0%}); final accuracy {f['final_accuracy']:.2f}"
        ),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--procedure", choices=["learning-loop", "pattern", "both"], default="both")
    ap.add_argument(
        "--forget",
        type=float,
        nargs="*",
        default=None,
        metavar="V",
        help="learning-loop only: savings for each forgetting amplitude (V)",
    )
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    if args.forget:
        with tempfile.TemporaryDirectory() as tmp:
            for amp in args.forget:
                values = []
                for seed in range(args.seeds):
                    result, f = run(LearningLoopProcedure, "sim", seed, Path(tmp), {"forget_amplitude_V": amp})
                    values.append(f["savings"] if result is not None else float("nan"))
                print(
                    f"forget {amp:.2f} V: savings "
                    + " ".join(f"{v:+.2f}" for v in values)
                    + f"   mean {np.nanmean(values):+.2f}",
                    flush=True,
                )
        return
    rows = {"learning-loop": learning_loop_row, "pattern": pattern_row}
    names = list(rows) if args.procedure == "both" else [args.procedure]
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            ok_fb = ok_sv = 0
            for seed in range(args.seeds):
                fb, sv, text = rows[name](seed, Path(tmp))
                ok_fb += fb
                ok_sv += sv
                print(f"{name} seed {seed}: {text}", flush=True)
            label = "learned the pattern" if name == "pattern" else "positive feedback"
            print(f"{name}: {label} on {ok_fb}/{args.seeds} seeds, savings on {ok_sv}/{args.seeds}", flush=True)


if __name__ == "__main__":
    main()
