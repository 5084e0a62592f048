"""``tspcm fit RUNS... -o mydevice.toml``: a device file for the simulated bench from a user's run files."""

from __future__ import annotations

import os
import sys

HELP = "fit device parameters to run files (a device file for the simulated bench), or --check one"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "fit",
        help=HELP,
        description="Direct extraction: each run is analysed (as tspcm analyze does) and the features that "
        "measure a model parameter are written to a device file (sim_backend.params format, basis "
        "'fitted', the run ids, a 95 % interval). iv-sweep -> ts.vth_v, ts.vth_d2d_rel (>= 2 "
        "cells), ts.vhold_v, ts.r_on_ohm; delay-recovery -> ts.t_d0_s, ts.v0_delay_v, "
        "ts.tau_recovery_s; retention -> pcm.nu_drift. Then the model-in-the-loop fit: the "
        "iv-sweep, delay-recovery and retention runs re-run on the simulated bench with their recorded "
        "parameters, ts.r_on_ohm, ts.t_d0_s, ts.v0_delay_v and pcm.nu_drift fitted to their features, and "
        "pulse-train runs the PCM's SET/RESET kinetics (pcm.k_cryst_max_per_s, pcm.jmak_n, pcm.r_th_k_per_w) (least "
        "squares; correlations and intervals reported, unidentifiable parameters said so). Use the "
        "file with `tspcm run NAME --sim-options device=FILE`. With --check FILE: predict the runs' "
        "key figures with that device file instead (exit 1 when one is outside 2 sigma of the measured "
        "cells' spread; with one measured cell, of the simulated cells', said so). See docs/fitting.md.",
    )
    p.add_argument("runs", nargs="+", metavar="RUN", help="run files (.h5) or folders")
    p.add_argument("--output", "-o", metavar="FILE", help="device file to write (.toml)")
    p.add_argument(
        "--check",
        metavar="DEVICE",
        help="instead of fitting: re-run RUNS on the simulated bench with "
        "this device file and compare their key figures with the measured ones",
    )
    p.add_argument("--seeds", type=int, default=3, metavar="N", help="--check: simulated cells per run (default 3)")
    p.add_argument("--direct-only", action="store_true", help="direct extraction only (no simulated runs)")
    p.add_argument(
        "--workers",
        type=int,
        default=min(4, os.cpu_count() or 1),
        metavar="N",
        help="processes running the simulated runs (default: min(4, CPUs))",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the simulated runs on this Dask scheduler (e.g. tcp://127.0.0.1:8786) instead of local processes",
    )
    p.add_argument(
        "--max-evaluations",
        type=int,
        default=20,
        metavar="N",
        help="model-in-the-loop: evaluations "
        "of the simulated runs per cell before the fit counts as not converged (default 20)",
    )
    p.add_argument(
        "--cells",
        metavar="LABELS",
        help="comma-separated cell label per run file, in the order given "
        "(runs with the same label are one cell; default: every run file is its own cell)",
    )
    p.add_argument(
        "--base",
        metavar="FILE",
        help="device file of values known otherwise (e.g. the cell's "
        "pcm.r_cryst_ohm); copied into the output where the fit sets nothing",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from tspcm_lab.analysis.devicefit import FitError, fit_runs, write_device_file
    from tspcm_lab.cli import CliError

    if args.check:
        return _check(args)
    if not args.output:
        raise CliError("give --output FILE (the device file to write), or --check DEVICE to test one", 2)
    for key in ("workers", "max_evaluations"):
        if getattr(args, key) < 1:
            raise CliError(f"--{key.replace('_', '-')} must be >= 1, got {getattr(args, key)}", 2)
    out = Path(args.output)
    if out.suffix.lower() != ".toml":
        raise CliError(f"--output must end in .toml, got {args.output!r}", 2)
    if out.exists() and not args.force:
        raise CliError(f"{out} exists; pass --force to overwrite it", 2)
    if args.cells:  # one label per run, in the order given: run files, not folders (whose order is ours)
        files = [Path(p) for p in args.runs]
        bad = [str(p) for p in files if not p.is_file()]
        if bad:
            raise CliError(
                f"with --cells, give run files (one label each), not folders or missing paths: {', '.join(bad)}", 2
            )
    else:
        files = [Path(p) for p in _run_files(args.runs)]
    cells = [c.strip() for c in args.cells.split(",")] if args.cells else None
    if cells is None and len(files) > 1:
        print(
            f"note: no --cells: each of the {len(files)} run files is fitted as a cell of its own; runs of one "
            f"cell share a label (e.g. --cells A,A,A for one cell's iv-sweep, delay-recovery and retention)"
        )
    try:
        res = fit_runs(
            files,
            cells,
            args.base,
            loop=not args.direct_only,
            workers=args.workers,
            scheduler=args.scheduler,
            max_evaluations=args.max_evaluations,
        )
        write_device_file(res, out, args.base, command="tspcm fit " + " ".join(sys.argv[2:]))
    except FitError as exc:
        raise CliError(f"no device file written: {exc}", 2) from None
    print(f"{'parameter':24s} {'value':>12s} {'95 % interval':>28s} unit  cells")
    for f in res.params.values():
        iv = f"[{f.interval[0]:.4g}, {f.interval[1]:.4g}]" if f.interval else "(none)"
        iv = iv if f.identified else "NOT IDENTIFIED"
        print(f"{f.name:24s} {f.value:12.5g} {iv:>28s} {f.unit:5s} {f.n_cells}")
    for t in res.not_identified:
        print(f"not identified: {t}")
    for f in res.params.values():
        for other, rho in (f.correlations or {}).items():
            if f.name < other:
                print(f"correlation {f.name} / {other}: {rho:+.3f}")
    for note in res.notes:
        print(f"note: {note}")
    print(f"wrote {out} from {len(files)} run(s); use it: tspcm run NAME --sim-options device={out}")
    return 0


def _check(args) -> int:
    from pathlib import Path

    from tspcm_lab.analysis.modelfit import LoopError, check
    from tspcm_lab.cli import CliError

    if args.output:
        raise CliError("--check compares runs with a device file and writes none: drop --output", 2)
    if args.seeds < 2:
        raise CliError(f"--seeds must be >= 2 (the simulated cells' spread), got {args.seeds}", 2)
    if not Path(args.check).is_file():
        raise CliError(f"--check {args.check}: no such device file", 2)
    files = _run_files(args.runs)
    try:
        rows = check(args.check, files, seeds=args.seeds, workers=args.workers, scheduler=args.scheduler)
    except LoopError as exc:
        raise CliError(str(exc), 2) from None
    print(
        f"{'procedure':20s} {'key figure':30s} {'measured':>11s} {'predicted':>11s} {'error':>10s} "
        f"{'spread':>10s} {'err/spread':>10s}  within 2 sigma"
    )
    bad = fallbacks = 0
    compared: list[str] = []  # "FIGURE yes|NO (N / M)": its verdict, on N measured and M simulated cells
    for c in rows:
        err = c.predicted - c.measured
        verdict = {True: "yes", False: "NO", None: "-"}[c.within]
        bad += c.within is False
        if c.within is not None:
            compared.append(f"{c.figure} {verdict} ({c.n_measured} / {c.n_predicted})")
        if c.kind == "share":  # a yes/no figure: the shares of the cells that say yes, and their difference's interval
            iv = c.interval
            span = f"[{iv[0]:+.2f}, {iv[1]:+.2f}]" if iv else "-"
            yes = c.yes_cells
            print(
                f"{c.procedure:20s} {c.figure:30s} {_share(yes[0], c.n_measured):>11s} "
                f"{_share(yes[1], c.n_predicted):>11s} {err:+10.3g} {span:>21s}  {verdict} (share of the cells "
                f"that say yes; 95 % interval of predicted - measured, Newcombe-Wilson: within when it holds 0)"
            )
            continue
        s = c.spread
        src = "sim" if c.fallback and s is not None else "cells"
        fallbacks += c.fallback and c.within is not None
        ratio = f"{abs(err) / s:10.2f}" if s else f"{'-':>10s}"
        print(
            f"{c.procedure:20s} {c.figure:30s} {c.measured:11.4g} {c.predicted:11.4g} {err:10.3g} "
            f"{(s if s is not None else float('nan')):10.3g} {ratio}  {verdict} ({src}: {c.n_measured} measured, "
            f"{c.n_predicted} simulated)"
        )
    if not fallbacks:
        basis = "the measured cells' sample sigma, device to device"
    elif fallbacks == sum(c.kind == "mean" and c.within is not None for c in rows):
        basis = "the simulated cells' sample sigma: fewer than two measured cells, fallback below"
    else:
        basis = "the measured cells' sample sigma; rows marked 'sim': the simulated cells', fallback below"
    basis = f"|error| <= 2 sigma, sigma: {basis}"
    if any(c.kind == "share" for c in rows):
        basis += "; a yes/no figure: the 95 % interval of the shares' difference holds 0"
    skipped = [c.figure for c in rows if c.within is None]
    print(
        f"{len(compared) - bad} of {len(compared)} key figures predicted within the cells' spread"
        + (f", on measured / simulated cells: {', '.join(compared)}" if compared else "")
        + f" (within: {basis})"
        + (
            f"; not compared: {', '.join(skipped)} ('-': the runs or the simulated cells gave no value or no spread)"
            if skipped
            else ""
        )
    )
    if fallbacks:
        print(
            f"fallback: {fallbacks} figure(s) marked 'sim' had fewer than two measured cells, so no measured spread: "
            f"their spread is the simulated cells' sample sigma (the device file's own spreads and the "
            f"figure's noise, not the lab's cells'); measure two or more cells for a device-to-device spread"
        )
    for note in dict.fromkeys(c.note for c in rows if c.note):
        print(f"conditions: {note}")
    if not compared:
        print("nothing compared: these runs' key figures have no value to predict (see the table); no verdict")
        return 1
    return 1 if bad else 0


def _share(yes: int, n: int) -> str:
    """ "3 of 8" (cells that say yes, of those with a value), "-" for none."""
    return f"{yes} of {n}" if n else "-"


def _run_files(paths) -> list[str]:
    """The run files under ``paths`` (files and folders); CliError (exit 2) when there are none."""
    from tspcm_lab.analysis.batch import find_run_files
    from tspcm_lab.cli import CliError

    try:
        files = find_run_files(paths)
    except FileNotFoundError as exc:
        raise CliError(str(exc), 2) from None
    if not files:
        raise CliError("no .h5/.hdf5 run files under " + ", ".join(paths), 2)
    return files
