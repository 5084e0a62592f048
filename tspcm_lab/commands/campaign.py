"""``tspcm campaign FILE``: run the procedures of a campaign file on one bench into one folder, with an index.

    tspcm campaign data/campaigns/demo.toml --sim --output campaigns/cell-A1

The folder gets one run file per run plus campaign.json and index.csv (see tspcm_lab/campaign.py for the
file format). Exit code 0 when every run completed, 2 when the campaign is refused (nothing was
enabled), 1 otherwise. Ctrl-C aborts the current run cleanly and stops the campaign.
"""

from __future__ import annotations

import sys
from pathlib import Path

HELP = "run a campaign file (a list of procedures with parameters) into one folder with an index"


def register(subparsers) -> None:
    from tspcm_lab.commands.run import add_bench_options

    p = subparsers.add_parser(
        "campaign",
        help=HELP,
        description="Run the procedures of a campaign file (TOML) on one bench into one folder, with an index (campaign.json, index.csv). Exit code 0 when every run completed, 2 when the campaign is refused (nothing was enabled), 1 otherwise.",
    )
    p.add_argument("file", metavar="FILE", help="campaign TOML file")
    add_bench_options(p)
    p.add_argument(
        "--output",
        "-o",
        metavar="DIR",
        help="folder for the run files and the index (default: campaigns/<name>-<time>)",
    )
    p.add_argument("--quick", action="store_true", help="use each run's [quick] parameter overrides")
    p.add_argument("--verbose", "-v", action="store_true", help="log details and full tracebacks")
    p.set_defaults(func=run)


class ConsoleNotes:
    """Campaign notes on stderr and a progress display per run (the shape of campaign.Notes)."""

    def note(self, message: str) -> None:
        from tspcm_lab.commands.run import say

        say(message)

    def off_problem(self, problem: str) -> None:
        from tspcm_lab.commands.run import report_off_problems

        report_off_problems([problem])

    def progress(self, record, total: int):
        from tspcm_lab.commands.run import ConsoleProgress

        return ConsoleProgress(prefix=f"[{record.index}] ")


def bench_override(args) -> str | None:
    """The bench given on the command line (None: the campaign file's)."""
    if getattr(args, "bench", None):
        return args.bench
    return "sim" if getattr(args, "sim", False) else None


def execute_campaign(args, campaign, folder: Path, *, skip_missing: bool = False, lenient: bool = False):
    """Run ``campaign`` with the CLI's notes and error handling; returns the CampaignResult."""
    from tspcm_lab.bench import BenchConfigError, BenchOpenError
    from tspcm_lab.campaign import CampaignError, run_campaign
    from tspcm_lab.cli import CliError

    try:
        return run_campaign(
            campaign,
            folder,
            bench=bench_override(args),
            seed=args.seed,
            quick=args.quick,
            skip_missing=skip_missing,
            lenient=lenient,
            notes=ConsoleNotes(),
        )
    except CampaignError as exc:
        lines = str(exc).splitlines()
        for line in lines[:-1]:
            print(f"tspcm {args.command}: error: {line}", file=sys.stderr)
        raise CliError(lines[-1] + "; nothing was run", 2) from None
    except BenchConfigError as exc:
        raise CliError(str(exc).replace("\n", "; "), 2) from None
    except BenchOpenError as exc:
        raise CliError(f"cannot open the bench: {exc}", 1) from None
    except ValueError as exc:  # bad simulated bench options
        raise CliError(str(exc), 2) from None
    except KeyboardInterrupt:
        raise CliError("interrupted before the first run; nothing was enabled", 1) from None


def print_records(result) -> None:
    width = max((len(r.procedure) for r in result.records), default=8)
    for r in result.records:
        where = r.file or "-"
        detail = f"  ({r.message})" if r.message and r.status != "completed" else ""
        print(f"  {r.index:>2}  {r.procedure:<{width}}  {r.status:<10} {r.n_rows:>7} rows  {where}{detail}")


def run(args) -> int:
    from tspcm_lab import runner
    from tspcm_lab.campaign import CampaignError, default_folder, load_campaign
    from tspcm_lab.cli import CliError
    from tspcm_lab.commands.run import console_logging

    try:
        campaign = load_campaign(args.file)
    except CampaignError as exc:
        raise CliError(str(exc).replace("\n", "; "), 2) from None
    folder = (
        Path(args.output)
        if args.output
        else default_folder(Path("campaigns") / f"{Path(args.file).stem}-{runner.timestamp()}")
    )
    if (folder / "campaign.json").exists():
        raise CliError(f"{folder} already holds a campaign (campaign.json); choose another --output", 2)
    if args.sim_options:
        campaign.sim_options = ";".join(p for p in (campaign.sim_options, args.sim_options) if p)
    with console_logging(args.verbose):
        print(f"campaign: {campaign.title} ({len(campaign.runs)} runs) -> {folder}", flush=True)
        result = execute_campaign(args, campaign, folder)
    print_records(result)
    if result.stopped:
        print(f"campaign stopped: {result.stopped}", flush=True)
    print(f"index: {folder / 'campaign.json'}", flush=True)
    print(folder, flush=True)
    return 0 if result.ok else 1
