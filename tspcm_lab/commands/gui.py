"""``tspcm gui [PROCEDURE]``: the measurement window (PyMeasure ManagedWindow) writing HDF5 run files.

    tspcm gui iv-sweep --sim                      # the simulated bench
    tspcm gui iv-sweep --bench probe-station.toml --output runs/wafer7
    tspcm gui                                     # choose the procedure in a dialog

The bench is opened once (every output off) and shared by every run queued in the window; closing the
window aborts a running procedure, turns every output off and closes the bench. See docs/gui.md.
"""

from __future__ import annotations

HELP = "measurement window: queue procedures on a bench, live plot, browse and reopen run files"


def register(subparsers) -> None:
    from tspcm_lab.commands.run import add_bench_options

    p = subparsers.add_parser("gui", help=HELP, description=__doc__.split("\n\n")[0].strip() + " See docs/gui.md.")
    p.add_argument(
        "procedure",
        nargs="?",
        metavar="PROCEDURE",
        help="procedure name (tspcm procedures lists them); none: choose in a dialog",
    )
    add_bench_options(p)
    p.add_argument(
        "--output",
        "-o",
        metavar="DIR",
        default="runs",
        help="folder of the run files (default: runs/), changeable in the window",
    )
    p.add_argument("--title", default="", help="title stored in each run file (editable in the window)")
    p.add_argument(
        "--history",
        type=int,
        default=10,
        metavar="N",
        help="list the latest N runs of the procedure in the folder at start (default 10, 0: none)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from tspcm_lab.cli import CliError
    from tspcm_lab.gui import app
    from tspcm_lab.gui.app import GuiOptions, GuiStartError

    options = GuiOptions(
        procedure=args.procedure,
        bench=args.bench or "sim",
        seed=args.seed,
        sim_options=args.sim_options,
        output=args.output,
        title=args.title,
        history=max(0, args.history),
    )
    try:
        return app.run(options)
    except GuiStartError as exc:
        raise CliError(str(exc), exc.code) from None
