"""``tspcm run NAME``: run one procedure headless (or a sequence of parameter points), one run file each.

    tspcm run iv-sweep --sim --seed 42 --set cycles=5 --set compliance_A="100 uA" --output runs/
    tspcm run pulse-train --bench lab.toml --sequence amplitudes.txt --title "die 3, cell A1"

Exit code 0 only when every run completed, 2 for invalid input (a parameter, a bench file, an output
path), 1 otherwise (aborted, failed, instrument unreachable). The last line printed is the run file's
path. Ctrl-C stops cleanly: the procedure ends at its next check, every output is turned off, the file
ends ``aborted`` with the rows so far.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path

from tspcm_lab import runner

HELP = "run a procedure headless on a bench (or the simulated one) into a run file"
#: plain progress lines are printed every this many percent
PLAIN_STEP_PERCENT = 10.0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "run",
        help=HELP,
        description="Run one procedure headless (or one run per point of a sequence file) "
        "into run files. `tspcm procedures` lists the procedures and their parameters. Exit code 0 only when "
        "every run completed, 2 for invalid input, 1 otherwise; the last line printed is the run file.",
    )
    p.add_argument("name", metavar="NAME", help="procedure name (tspcm procedures lists them)")
    add_bench_options(p)
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PARAM=VALUE",
        help="set a parameter (key or label); units allowed: --set width_s='100 ns'. Repeatable.",
    )
    p.add_argument("--sequence", metavar="FILE", help="PyMeasure sequencer file: one run per parameter point")
    p.add_argument(
        "--output",
        "-o",
        metavar="FILE_OR_DIR",
        help="run file (.h5) or folder (default: runs/, files named <time>_<name>.h5)",
    )
    p.add_argument("--title", default="", help="free-text title stored in the run file")
    p.add_argument("--verbose", "-v", action="store_true", help="log details and full tracebacks")
    p.set_defaults(func=run)


def add_bench_options(parser) -> None:
    """--bench FILE | --sim, --seed, --sim-options (shared with campaign)."""
    from tspcm_lab.benches import builtin_benches

    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--bench", metavar="FILE", help=f"bench file, or a built-in name ({', '.join(builtin_benches())})"
    )
    group.add_argument("--sim", action="store_true", help="the built-in simulated bench (the default)")
    parser.add_argument(
        "--seed",
        type=int,
        metavar="N",
        help="seed of the simulated bench (default: a random one, printed and recorded); "
        "with a real bench it is only recorded",
    )
    parser.add_argument(
        "--sim-options",
        default="",
        metavar="SPEC",
        help="simulated bench options joined by ';', e.g. 'array=4x4', 'c_probe=1e-11', "
        "'pcm.heat_coupling=0', 'fault=smu:drop=50' (see docs/model.md and sim_backend/faults.py)",
    )


def bench_source(args) -> str:
    return args.bench or "sim"


# ------------------------------------------------------------------------------------------------ console
class ConsoleProgress(runner.Progress):
    """A tqdm bar on a terminal (stderr), plain progress lines on stdout otherwise."""

    def __init__(self, *, bar: bool | None = None, prefix: str = ""):
        self.use_bar = sys.stderr.isatty() if bar is None else bar
        self.prefix = prefix
        self.bar = None
        self.next_mark = PLAIN_STEP_PERCENT

    def start(self, path: Path, procedure) -> None:
        name = getattr(procedure, "name", "") or type(procedure).__name__
        print(f"{self.prefix}{name} -> {path}", flush=True)
        self.next_mark = PLAIN_STEP_PERCENT
        if self.use_bar:
            from tqdm import tqdm

            self.bar = tqdm(
                total=100.0,
                desc=name,
                file=sys.stderr,
                leave=False,
                dynamic_ncols=True,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]",
            )

    def update(self, percent: float) -> None:
        if self.bar is not None:
            self.bar.n = max(0.0, min(100.0, percent))
            self.bar.refresh()
            return
        if percent >= self.next_mark:
            while percent >= self.next_mark:
                self.next_mark += PLAIN_STEP_PERCENT
            print(f"{self.prefix}  progress {min(percent, 100.0):5.1f} %", flush=True)

    def stopping(self, count: int) -> None:
        text = {
            1: "stopping: the procedure ends at its next check, then every output is turned off "
            "(Ctrl-C twice more to stop waiting)",
            2: "still stopping; one more Ctrl-C stops waiting and turns the outputs off from here",
        }
        say(text.get(count, "not waiting any longer: turning every output off"))

    def finish(self, outcome: runner.RunOutcome) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        line = f"{self.prefix}{outcome.status}: {outcome.n_rows} rows in {outcome.seconds:.1f} s"
        if outcome.message:
            line += f" ({outcome.message})" if outcome.status != "failed" else ""
        print(line, flush=True)
        if outcome.status == "failed":
            kept = f"the rows so far are kept in {outcome.path}" if outcome.path.exists() else "no run file was written"
            say(f"run failed: {outcome.message.rstrip('.')}; {kept}")
        report_off_problems(outcome.off_problems)
        if outcome.status in ("failed", "aborted", "interrupted"):
            say("every output is off" if not outcome.off_problems else "every other output is off")


_REPORTED: set[str] = set()


def report_off_problems(problems, *, reset: bool = False) -> None:
    """One warning line per instrument whose output could not be confirmed off (once per command)."""
    if reset:
        _REPORTED.clear()
    by_role: dict[str, list[str]] = {}
    for problem in problems:
        role, _, rest = problem.partition("): ")
        by_role.setdefault(role + ")" if rest else problem, []).append(rest or problem)
    for role, items in by_role.items():
        if role in _REPORTED:
            continue
        _REPORTED.add(role)
        more = f" (and {len(items) - 1} more)" if len(items) > 1 else ""
        say(f"WARNING: {role}: output may still be on, check the instrument: {items[0]}{more}")


def say(message: str) -> None:
    """One line to stderr (above a progress bar when one is drawn)."""
    from tqdm import tqdm

    tqdm.write(f"tspcm: {message}", file=sys.stderr)


class _ConsoleHandler(logging.Handler):
    """Warnings and errors as one line each on stderr. PyMeasure's worker chatter and the shutdown
    problems (reported once by the runner) are left out; tracebacks only with --verbose."""

    def __init__(self, verbose: bool):
        super().__init__(logging.INFO if verbose else logging.WARNING)
        self.verbose = verbose

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if not self.verbose and (record.name.startswith("pymeasure") or _is_off_problem(record)):
                return
            text = f"{record.levelname.lower()}: {record.getMessage()}"
            if self.verbose and record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            say(text)
        except Exception:  # never let logging break a run
            pass


def _is_off_problem(record: logging.LogRecord) -> bool:
    """A failed step of an instrument's off(): reported once, per instrument, by the runner."""
    return record.getMessage().startswith("shutdown:") or (
        record.name == "instruments.base" and record.levelno >= logging.ERROR and " failed: " in record.getMessage()
    )


@contextlib.contextmanager
def console_logging(verbose: bool = False):
    root = logging.getLogger()
    handler = _ConsoleHandler(verbose)
    old_level = root.level
    root.addHandler(handler)
    report_off_problems([], reset=True)
    if verbose or root.level > logging.WARNING or root.level == logging.NOTSET:
        root.setLevel(logging.INFO if verbose else logging.WARNING)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


# ------------------------------------------------------------------------------------------------ errors
def open_session(args, require=()) -> runner.BenchSession:
    """The bench of the command line, or CliError: 2 for a bad bench file / options, 1 when an
    instrument cannot be reached."""
    from tspcm_lab.bench import BenchConfigError, BenchOpenError
    from tspcm_lab.cli import CliError

    try:
        return runner.BenchSession.open(
            bench_source(args), seed=args.seed, sim_options=args.sim_options, require=require
        )
    except BenchConfigError as exc:
        raise CliError(str(exc).replace("\n", "; "), 2) from None
    except BenchOpenError as exc:
        raise CliError(f"cannot open the bench: {exc}", 1) from None
    except ValueError as exc:  # bad simulated bench options (BenchSpecError is one)
        raise CliError(str(exc), 2) from None


def describe_point(point: dict) -> str:
    return ", ".join(f"{k}={runner.format_number(v)}" for k, v in point.items())


# ------------------------------------------------------------------------------------------------ command
def run(args) -> int:
    from tspcm_lab import plugins
    from tspcm_lab.cli import CliError, starting_up

    try:
        with starting_up():
            cls = plugins.load_procedure(args.name)
    except plugins.ProcedureLookupError as exc:
        raise CliError(str(exc), 2) from None
    name = getattr(cls, "name", "") or args.name
    try:
        values = runner.parse_assignments(args.set)
        points = runner.read_sequence(cls, args.sequence) if args.sequence else [{}]
        for point in points:  # every value converted and range-checked before the bench is touched
            runner.build_procedure(cls, {**values, **point})
        paths = runner.run_paths(args.output, name, len(points))
    except runner.ParameterInputError as exc:
        raise CliError(runner.parameter_error_text(exc), 2) from None
    except FileExistsError as exc:
        raise CliError(str(exc), 2) from None

    with console_logging(args.verbose):
        try:
            with starting_up():
                session = open_session(args, require=getattr(cls, "REQUIRED_ROLES", ()))
        except KeyboardInterrupt:
            raise CliError("interrupted while opening the bench; nothing was enabled", 1) from None
        try:
            return _run_points(args, cls, name, values, points, paths, session)
        except KeyboardInterrupt:
            raise CliError("interrupted before the run started; nothing was enabled", 1) from None
        finally:
            report_off_problems(session.close())


def print_key_figures(outcomes) -> None:
    """What each completed run measured, from the same extractors as ``tspcm analyze`` (e.g.
    "Vth 1.781 V; Vhold 1.025 V; cycles 3"); an aborted or failed run has none."""
    from tspcm_lab.keyfigures import figures, run_features

    for outcome in outcomes:
        if outcome.status != "completed":
            continue
        try:
            procedure, values, units, _source = run_features(outcome.path)
        except Exception as exc:  # noqa: BLE001 - the run is kept; only its summary line is missing
            print(f"{Path(outcome.path).name}: no key figures ({type(exc).__name__}: {exc})", flush=True)
            continue
        print(f"{procedure}: {figures(procedure, values, units)}", flush=True)


def _run_points(args, cls, name, values, points, paths, session) -> int:
    from tspcm_lab.cli import CliError

    procedures = []
    for point in points:  # validate every point against the bench before any output is enabled
        procedure = runner.build_procedure(cls, {**values, **point}, session)
        try:
            runner.validate(procedure)
        except Exception as exc:
            if runner.is_parameter_error(exc):
                where = f" (sequence point {describe_point(point)})" if len(points) > 1 else ""
                raise CliError(f"invalid parameter{where}: {runner.parameter_error_text(exc)}", 2) from None
            raise CliError(f"{name}: validate() failed: {type(exc).__name__}: {exc}", 1) from None
        procedures.append(procedure)

    seed_text = f", seed {session.seed}" if session.seed is not None else ""
    print(
        f"bench: {session.name}{' (simulated' + seed_text + ')' if session.simulated else seed_text}; "
        f"Ctrl-C stops cleanly",
        flush=True,
    )
    outcomes = []
    for index, (point, procedure, path) in enumerate(zip(points, procedures, paths)):
        prefix = f"[{index + 1}/{len(points)}] " if len(points) > 1 else ""
        title = args.title or name
        if point:
            title += f" [{describe_point(point)}]"
        outcome = runner.execute(
            procedure,
            session,
            path,
            seed=session.seed,
            title=title,
            last=index == len(points) - 1,
            progress=ConsoleProgress(prefix=prefix),
        )
        outcomes.append(outcome)
        if outcome.status != "completed":
            if len(points) > index + 1:
                say(f"sequence stopped after point {index + 1} of {len(points)} ({outcome.status})")
            break
    print_key_figures(outcomes)
    for outcome in outcomes:
        if outcome.path.exists():
            print(outcome.path, flush=True)
    ok = len(outcomes) == len(points) and all(o.exit_code == 0 for o in outcomes)
    return runner.EXIT_OK if ok else runner.EXIT_FAILED
