"""``tspcm fit RUNS... -o mydevice.toml``: a device file for the simulated bench from a user's run files."""

from __future__ import annotations

import sys

HELP = "extract device parameters from run files into a device file for the simulated bench"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "fit", help=HELP,
        description="Direct extraction: each run is analysed (as tspcm analyze does) and the features that "
                    "measure a model parameter are written to a device file (sim_backend.params format, basis "
                    "'fitted', the run ids, a 95 %% interval). iv-sweep -> ts.vth_v, ts.vth_d2d_rel (>= 2 "
                    "cells), ts.vhold_v, ts.r_on_ohm; delay-recovery -> ts.t_d0_s, ts.v0_delay_v, "
                    "ts.tau_recovery_s; retention -> pcm.nu_drift. Use the file with "
                    "`tspcm run NAME --sim-options device=FILE`. See docs/fitting.md.")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run files (.h5) or folders")
    p.add_argument("--output", "-o", required=True, metavar="FILE", help="device file to write (.toml)")
    p.add_argument("--cells", metavar="LABELS", help="comma-separated cell label per run file, in the order given "
                   "(runs with the same label are one cell; default: every run file is its own cell)")
    p.add_argument("--base", metavar="FILE", help="device file of values known otherwise (e.g. the cell's "
                   "pcm.r_cryst_ohm); copied into the output where the fit sets nothing")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from tspcm_lab.analysis.batch import find_run_files
    from tspcm_lab.analysis.devicefit import FitError, fit_runs, write_device_file
    from tspcm_lab.cli import CliError

    out = Path(args.output)
    if out.suffix.lower() != ".toml":
        raise CliError(f"--output must end in .toml, got {args.output!r}", 2)
    if out.exists() and not args.force:
        raise CliError(f"{out} exists; pass --force to overwrite it", 2)
    if args.cells:  # one label per run, in the order given: run files, not folders (whose order is ours)
        files = [Path(p) for p in args.runs]
        bad = [str(p) for p in files if not p.is_file()]
        if bad:
            raise CliError(f"with --cells, give run files (one label each), not folders or missing paths: "
                           f"{', '.join(bad)}", 2)
    else:
        try:
            files = [Path(p) for p in find_run_files(args.runs)]
        except FileNotFoundError as exc:
            raise CliError(str(exc), 2) from None
    if not files:
        raise CliError("no .h5/.hdf5 run files under " + ", ".join(args.runs), 2)
    cells = [c.strip() for c in args.cells.split(",")] if args.cells else None
    try:
        res = fit_runs(files, cells, args.base)
        write_device_file(res, out, args.base, command="tspcm fit " + " ".join(sys.argv[2:]))
    except FitError as exc:
        raise CliError(f"no device file written: {exc}", 2) from None
    print(f"{'parameter':24s} {'value':>12s} {'95 % interval':>28s} unit  cells")
    for f in res.params.values():
        iv = f"[{f.interval[0]:.4g}, {f.interval[1]:.4g}]" if f.interval else "(none)"
        print(f"{f.name:24s} {f.value:12.5g} {iv:>28s} {f.unit:5s} {f.n_cells}")
    for t in res.not_identified:
        print(f"not identified: {t}")
    print(f"wrote {out} from {len(files)} run(s); use it: tspcm run NAME --sim-options device={out}")
    return 0
