"""``tspcm demo``: the whole job on the simulated bench, start to finish, in a few minutes.

Runs the demo campaign (data/campaigns/demo.toml: every installed procedure on the simulated TS-PCM
cell, the pattern on a simulated 4x4 array), then ``tspcm analyze`` over the folder (features written
back into each run file, summary.csv, report.html), and prints per procedure the figure that says what
it measured: Vth and Vhold, the NeuroSim nonlinearity A, savings, the drift exponent nu...

    tspcm demo                      # -> tspcm-demo/ (or tspcm-demo-<time>/ when that exists)
    tspcm demo --quick -o /tmp/d    # fewer cycles and points: under a minute

Exit code 0 when every installed procedure completed and was analysed, 1 otherwise.
"""

from __future__ import annotations

import math
from pathlib import Path

import tspcm_data
from tspcm_lab.keyfigures import KEY_FIGURES, figures  # noqa: F401  (KEY_FIGURES: what the summary shows)

HELP = "run every procedure on the simulated bench, analyse the runs and print what they show"
#: the demo campaign, shipped with the package's data
DEMO_CAMPAIGN = tspcm_data.path("campaigns", "demo.toml")  # data/campaigns/demo.toml in the source tree

#: procedure -> (check on {feature: value}, what it shows): the behaviour each run must show
CHECKS: dict[str, tuple] = {
    "iv-sweep": (lambda f: f.get("hold_below_threshold_fraction") == 1.0, "Vhold < Vth in every cycle"),
    "pulse-train": (lambda f: f.get("p_gmax_S", 0) > f.get("p_gmin_S", math.inf), "conductance rises, then falls"),
    "spike-train": (lambda f: f.get("probability_spearman_rho", 0) > 0, "firing rises with conductance"),
    "threshold-vs-weight": (lambda f: f.get("threshold_spearman_rho", 0) < 0, "threshold falls as G rises"),
    "learning-loop": (lambda f: f.get("savings", 0) > 0, "retraining is faster (savings > 0)"),
    "pattern": (
        lambda f: f.get("savings", 0) > 0 and f.get("final_accuracy", 0) >= 1.0,
        "pattern memorized, savings > 0",
    ),
    "retention": (
        lambda f: all(0.05 < v < 0.15 for k, v in f.items() if k.startswith("nu_state")),
        "RESET-side states drift with nu ~0.1",
    ),
    "endurance": (
        lambda f: f.get("window_min", 0) > 0.1 and not math.isfinite(f.get("failure_cycle", math.nan)),
        "threshold window kept in every cycle",
    ),
    "delay-recovery": (
        lambda f: f.get("v0_V", 0) > 0 and 1e-8 < f.get("recovery_tau_s", 0) < 1e-4,
        "delay falls with overdrive; the threshold recovers",
    ),
}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "demo",
        help=HELP,
        description="Run every procedure on the simulated bench (data/campaigns/demo.toml), analyse the runs (summary.csv, report.html) and print what each shows.",
    )
    p.add_argument("--output", "-o", metavar="DIR", help="folder for everything (default: tspcm-demo)")
    p.add_argument("--quick", action="store_true", help="fewer cycles and points (under a minute)")
    p.add_argument("--seed", type=int, default=None, metavar="N", help="simulated bench seed (default: the campaign's)")
    p.add_argument("--campaign", metavar="FILE", default=str(DEMO_CAMPAIGN), help="another campaign file")
    p.add_argument("--verbose", "-v", action="store_true", help="log details and full tracebacks")
    p.set_defaults(func=run, bench=None, sim=False, sim_options="")  # the campaign's simulated benches


def summarize(result, table) -> list[str]:
    """One line per run: the key figures and whether the behaviour shows."""
    lines = []
    by_path, units = {}, {}
    if table is not None and len(table):
        for path, rows in table.groupby("path"):
            by_path[Path(path).name] = {r.feature: float(r.value) for r in rows.itertuples()}
            units[Path(path).name] = {
                r.feature: str(r.units) if isinstance(r.units, str) else "" for r in rows.itertuples()
            }
    width = max((len(r.procedure) for r in result.records), default=10)
    for record in result.records:
        head = f"  {record.procedure:<{width}}  "
        if record.status == "skipped":
            lines.append(head + "not installed yet (skipped)")
            continue
        if record.status != "completed":
            lines.append(head + f"{record.status}" + (f": {record.message}" if record.message else ""))
            continue
        features = by_path.get(record.file)
        if features is None:
            lines.append(head + "completed, but not analysed (see above)")
            continue
        text = figures(record.procedure, features, units.get(record.file))
        check = CHECKS.get(record.procedure)
        if check is not None:
            try:
                ok = bool(check[0](features))
            except Exception:  # noqa: BLE001 - a missing feature is a "no"
                ok = False
            text += f"  [{'ok' if ok else 'NOT SHOWN'}: {check[1]}]"
        lines.append(head + text)
    return lines


def run(args) -> int:
    from tspcm_lab import cli
    from tspcm_lab.startup import starting_up

    with starting_up():  # pandas, with the summary's reader: kept from the collector, as the campaign's imports are
        from tspcm_lab.analysis.batch import read_summary
        from tspcm_lab.campaign import CampaignError, default_folder, load_campaign
        from tspcm_lab.commands.campaign import execute_campaign, print_records
        from tspcm_lab.commands.run import console_logging

    try:
        campaign = load_campaign(args.campaign)
    except CampaignError as exc:
        raise cli.CliError(str(exc).replace("\n", "; "), 2) from None
    folder = Path(args.output) if args.output else default_folder(Path("tspcm-demo"))
    if (folder / "campaign.json").exists():
        raise cli.CliError(f"{folder} already holds a campaign (campaign.json); choose another --output", 2)
    print(
        f"tspcm demo: {campaign.title}{' (quick)' if args.quick else ''} on the simulated bench -> {folder}", flush=True
    )
    with console_logging(args.verbose):
        result = execute_campaign(args, campaign, folder, skip_missing=True, lenient=True)
    print_records(result)
    files = [str(f) for f in result.files]
    table = None
    analyze_code = 1
    if files:
        print("\ntspcm analyze:", flush=True)
        summary = folder / "summary.csv"
        analyze_code = cli.main(
            ["analyze", *files, "--summary", str(summary), "--report", str(folder), "--workers", "1", "--quiet"]
        )
        if summary.exists():
            table = read_summary(summary)
    print("\nwhat the runs show:")
    lines = summarize(result, table)
    for line in lines:
        print(line)
    print("\nfiles:")
    print(f"  runs + index : {folder}/ (campaign.json, index.csv)")
    if (folder / "summary.csv").exists():
        print(f"  summary table: {folder / 'summary.csv'}")
    if (folder / "report.html").exists():
        print(f"  HTML report  : {folder / 'report.html'}")
    print(f"  look inside  : tspcm runs {folder}   |   h5dump -H {folder}/<run>.h5")
    ran = [r for r in result.records if r.status != "skipped"]
    shown = all("NOT SHOWN" not in line for line in lines)
    ok = result.ok and bool(ran) and analyze_code == 0 and shown
    return 0 if ok else 1
