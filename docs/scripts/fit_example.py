"""The worked example of docs/fitting.md, run for real: two simulated cells of a non-default device are
measured (iv-sweep, delay-recovery, retention) through the tspcm command line, `tspcm fit` makes a device
file from the six runs, and the file drives the simulated bench. Rewrites the part of docs/fitting.md
between the example markers with the commands, their output and a table of configured against fitted values.

    .venv/bin/python docs/scripts/fit_example.py [--workdir DIR]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from doc_blocks import replace_block

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "fitting.md"
TRUE = {
    "ts.vth_v": 1.35,
    "ts.vhold_v": 0.6,
    "ts.r_on_ohm": 7000.0,
    "ts.t_d0_s": 2e-7,
    "ts.v0_delay_v": 0.08,
    "ts.tau_recovery_s": 6e-7,
    "pcm.nu_drift": 0.07,
}
RUNS = [
    ("iv-sweep", ["cycles=6", "compliance_A=100e-6"]),
    (
        "delay-recovery",
        [
            "recovery_intervals_s=80e-9, 140e-9, 200e-9, 300e-9, 400e-9, 600e-9, 800e-9, "
            "1.2e-6, 1.6e-6, 2.2e-6, 3.2e-6, 6.4e-6",
            "read_ts_on_resistance_ohm=7000",
        ],
    ),
    (
        "retention",
        [
            "states=2",
            "target_min_S=1e-6",
            "target_max_S=5e-6",
            "duration_s=1e4",
            "reads=25",
            "read_ts_on_resistance_ohm=7000",
        ],
    ),
]


def sh(args, cwd, shown):
    r = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{r.stderr}")
    shown.append((" ".join(["tspcm", *args[3:]]), r.stdout.strip()))
    return r.stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", help="keep the runs and the device file here (default: a temporary folder)")
    args = ap.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="fit_example_"))
    work.mkdir(parents=True, exist_ok=True)
    for old in [*work.glob("cell*.h5"), work / "check_iv.h5"]:  # our own outputs of a previous run
        old.unlink(missing_ok=True)
    true_file = work / "lab_cell.toml"
    sections: dict[str, list[str]] = {}
    for name, v in TRUE.items():
        sec, key = name.split(".")
        sections.setdefault(sec, []).append(f"{key} = {v!r}")
    true_file.write_text("".join(f"[{s}]\n" + "\n".join(x) + "\n" for s, x in sections.items()))
    tspcm = [sys.executable, "-m", "tspcm_lab"]
    shown: list[tuple[str, str]] = []
    runs, cells = [], []
    for seed, cell in ((11, "A"), (12, "B")):
        for proc, sets in RUNS:
            out = f"cell{cell}_{proc}.h5"
            cmd = [*tspcm, "run", proc, "--seed", str(seed), "--sim-options", "device=lab_cell.toml", "-o", out]
            for s in sets:
                cmd += ["--set", s]
            last = sh(cmd, work, [] if shown else shown).splitlines()[-1]
            runs.append(last if last.endswith(".h5") else out)
            cells.append(cell)
    names = [Path(r).name for r in runs]
    sh(
        [*tspcm, "fit", *names, "--cells", ",".join(cells), "-o", "mydevice.toml", "--force", "--workers", "2"],
        work,
        shown,
    )
    sh(
        [
            *tspcm,
            "run",
            "iv-sweep",
            "--seed",
            "5",
            "--sim-options",
            "device=mydevice.toml",
            "--set",
            "cycles=3",
            "--set",
            "compliance_A=100e-6",
            "-o",
            "check_iv.h5",
        ],
        work,
        shown,
    )
    check = sh([*tspcm, "analyze", "check_iv.h5", "--no-write"], work, [])
    # held out: threshold-vs-weight runs of the same two cells (the procedure's defaults), predicted by the fitted
    # file (and by the defaults)
    held = []
    for seed, cell in ((11, "A"), (12, "B")):
        out = f"cell{cell}_threshold-vs-weight.h5"
        (work / out).unlink(missing_ok=True)
        sh(
            [*tspcm, "run", "threshold-vs-weight", "--seed", str(seed), "--sim-options", "device=lab_cell.toml"]
            + ["-o", out],
            work,
            [],
        )
        held.append(out)
    checked = []
    for dev in ("mydevice.toml", str(ROOT / "data" / "device_params.toml")):
        r = subprocess.run(
            [*tspcm, "fit", "--check", dev, *held, "--seeds", "3", "--workers", "2"],
            cwd=work,
            capture_output=True,
            text=True,
        )
        if r.returncode not in (0, 1):
            sys.exit(f"tspcm fit --check failed:\n{r.stderr}")
        checked.append(
            (
                f"tspcm fit --check {Path(dev).name if dev.endswith('mydevice.toml') else 'data/device_params.toml'} "
                f"{' '.join(held)} --seeds 3",
                r.stdout.strip(),
                r.returncode,
            )
        )

    sys.path.insert(0, str(ROOT))
    import tomllib

    doc = tomllib.loads((work / "mydevice.toml").read_text())
    rows = ["| parameter | configured | fitted | 95 % interval | within |", "|---|---|---|---|---|"]
    for name, true in TRUE.items():
        sec, key = name.split(".")
        e = doc[sec][key]
        iv = e.get("interval")
        if isinstance(iv, list):
            ok = true <= iv[1] if e.get("bound") == "upper" else iv[0] <= true <= iv[1]
            ivs = f"[{iv[0]:.4g}, {iv[1]:.4g}]" + (" (upper bound)" if e.get("bound") == "upper" else "")
        else:
            ok, ivs = None, "none"
        rows.append(
            f"| {name} | {true:.4g} | {e['value']:.4g} | {ivs} | {'yes' if ok else ('-' if ok is None else 'NO')} |"
        )
    d2d = doc["ts"].get("vth_d2d_rel")
    head = (work / "mydevice.toml").read_text().split("\n[")[0]
    check_lines = [ln for ln in check.splitlines() if re.search(r"vth_median_V|vhold_mean_V|r_on_mean_ohm", ln)]
    md = [
        "<!-- example:start (generated by docs/scripts/fit_example.py; do not edit by hand) -->",
        "",
        "Two cells (simulated bench seeds 11 and 12) of a device configured with non-default values "
        "(`lab_cell.toml`), each measured by an iv-sweep, a delay-recovery and a retention run; the first "
        "command of the six:",
        "",
        "```",
        f"$ {shown[0][0]}",
        shown[0][1].splitlines()[-1],
        "```",
        "",
        "The fit:",
        "",
        "```",
        f"$ {shown[1][0]}",
        shown[1][1],
        "```",
        "",
        "Configured against fitted:",
        "",
        *rows,
        "",
        f"Device-to-device spread of the threshold over the two cells: ts.vth_d2d_rel = {d2d['value']:.3g} "
        f"(interval [{d2d['interval'][0]:.3g}, {d2d['interval'][1]:.3g}]; two cells pin it down poorly).",
        "",
        "The device file's header (the values follow as `[ts]`/`[pcm]` tables):",
        "",
        "```toml",
        head,
        "```",
        "",
        "The file drives the simulated bench; the new cell's iv-sweep, analysed:",
        "",
        "```",
        f"$ {shown[2][0]}",
        shown[2][1].splitlines()[-1],
        "$ tspcm analyze check_iv.h5 --no-write",
        *check_lines,
        "```",
        "",
        "Held out: a threshold-vs-weight run on each cell (the procedure's defaults; not used in the fit), "
        "predicted by the fitted file, then by the defaults (exit status after the output):",
        "",
        "```",
        *[x for cmd, out, rc in checked for x in (f"$ {cmd}", out, f"(exit {rc})")],
        "```",
        "",
        "<!-- example:end -->",
    ]
    replace_block(DOC, "example", "\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
