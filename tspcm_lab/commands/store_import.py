"""``tspcm import FILE.csv [--procedure NAME] [--output FILE.h5]``: convert a PyMeasure CSV result into a
run file."""

from __future__ import annotations


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "import",
        help="convert a PyMeasure CSV result into a run file",
        description="Read a CSV written by PyMeasure's Results (its header of procedure, parameters "
        "and metadata, then labelled columns with units) and write a run file "
        "(status 'imported').",
    )
    parser.add_argument("csv", metavar="FILE.csv", help="PyMeasure CSV result")
    parser.add_argument(
        "-o", "--output", metavar="FILE.h5", help="run file to write (default: the CSV's name with suffix .h5)"
    )
    parser.add_argument(
        "--procedure",
        metavar="NAME",
        help="the procedure the CSV is a run of (e.g. iv-sweep; see tspcm procedures): its "
        "parameters and analysis apply. Default: the procedure registered for the "
        "CSV's class, else the class name",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    parser.set_defaults(func=run)


def run(args) -> int:
    from tspcm_lab.cli import CliError
    from tspcm_lab.plugins import ProcedureLookupError
    from tspcm_lab.store import RunFileError, import_pymeasure_csv, open_run

    try:
        output = import_pymeasure_csv(args.csv, args.output, overwrite=args.overwrite, procedure=args.procedure)
        run = open_run(output)
    except FileExistsError as exc:
        raise CliError(f"{exc}; use --overwrite") from None
    except ProcedureLookupError as exc:
        raise CliError(str(exc), code=2) from None
    except RunFileError as exc:
        raise CliError(str(exc)) from None
    print(
        f"{output}: {run.n_rows} rows, {len(run.parameters)} parameters, "
        f"procedure {run.procedure_class or '?'} ({run.procedure})"
    )
    return 0
