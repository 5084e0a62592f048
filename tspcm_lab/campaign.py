"""Campaigns: a list of procedures with their parameters, run on one bench into one folder with an index.

A campaign file is TOML::

    [campaign]
    title = "cell A1, first characterization"
    bench = "sim"                  # bench file (relative to this file) or built-in name; --bench/--sim win
    seed = 42                      # simulated bench seed (recorded for a real bench)
    sim_options = ""               # simulated bench options for every run, e.g. "c_probe=1e-11"

    [[run]]
    procedure = "iv-sweep"
    title = "I-V, 5 cycles"
    parameters = { cycles = 5, compliance_A = "100 uA" }
    quick = { cycles = 2 }         # merged over parameters with --quick

    [[run]]
    procedure = "pattern"
    bench = "sim-array"            # optional per run: another bench (file or built-in name) ...
    sim_options = "array=4x4"      # ... or other simulated bench options: runs with the same bench share it

Every run is checked first (procedure installed, every value converted and within range, ``validate()``
against its bench) and nothing is enabled before all pass. Runs then go one after the other into
``<folder>/<NN>_<procedure>.h5``; ``<folder>/campaign.json`` and ``<folder>/index.csv`` list every run
(file, status, rows, parameters, message) and are rewritten after each run, so an interrupted campaign
still has its index. Ctrl-C aborts the current run cleanly and stops the campaign; a run whose outputs
could not be confirmed off stops it too (the other runs would drive a cell nobody controls).
"""

from __future__ import annotations

import csv
import json
import os
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tspcm_lab import runner
from tspcm_lab.startup import starting_up

INDEX_JSON = "campaign.json"
INDEX_CSV = "index.csv"
_CAMPAIGN_KEYS = {"title", "description", "bench", "seed", "sim_options"}
_RUN_KEYS = {"procedure", "title", "parameters", "quick", "bench", "sim_options"}


class CampaignError(ValueError):
    """A campaign file that cannot be used, or a run in it that is refused; one line per problem."""


@dataclass
class RunSpec:
    """One ``[[run]]`` of a campaign file."""

    index: int  #: 1-based position in the file
    procedure: str
    title: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    quick: dict[str, Any] = field(default_factory=dict)
    bench: str | None = None
    sim_options: str | None = None

    def values(self, quick: bool) -> dict[str, Any]:
        return {**self.parameters, **(self.quick if quick else {})}


@dataclass
class Campaign:
    path: Path
    title: str
    runs: list[RunSpec]
    bench: str | None = None
    seed: int | None = None
    sim_options: str = ""
    description: str = ""


def load_campaign(path: str | Path) -> Campaign:
    """Read and check a campaign file; CampaignError naming the file, the key and what is allowed."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CampaignError(f"{path}: no such campaign file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CampaignError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise CampaignError(f"{path}: malformed TOML: {exc}") from None
    problems: list[str] = []
    for key in data:
        if key not in ("campaign", "run"):
            problems.append(f"[{key}]: unknown table; allowed: [campaign], [[run]]")
    head = data.get("campaign", {})
    if not isinstance(head, dict):
        problems.append("campaign: must be a table [campaign]")
        head = {}
    for key in head:
        if key not in _CAMPAIGN_KEYS:
            problems.append(f"campaign.{key}: unknown key; allowed: {', '.join(sorted(_CAMPAIGN_KEYS))}")
    seed = head.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        problems.append(f"campaign.seed: must be an integer >= 0, got {seed!r}")
    for key in ("title", "description", "bench", "sim_options"):
        if key in head and not isinstance(head[key], str):
            problems.append(f"campaign.{key}: must be a string, got {head[key]!r}")
    raw_runs = data.get("run", [])
    if not isinstance(raw_runs, list) or not raw_runs:
        problems.append('run: add at least one [[run]] with procedure = "NAME"')
        raw_runs = []
    runs: list[RunSpec] = []
    for number, raw in enumerate(raw_runs, start=1):
        where = f"run {number}"
        if not isinstance(raw, dict):
            problems.append(f"{where}: must be a table [[run]]")
            continue
        for key in raw:
            if key not in _RUN_KEYS:
                problems.append(f"{where}.{key}: unknown key; allowed: {', '.join(sorted(_RUN_KEYS))}")
        name = raw.get("procedure")
        if not isinstance(name, str) or not name:
            problems.append(f'{where}.procedure: missing; the procedure\'s name, e.g. "iv-sweep"')
            continue
        for key in ("parameters", "quick"):
            if not isinstance(raw.get(key, {}), dict):
                problems.append(f"{where} ({name}).{key}: must be a table of parameter = value")
        for key in ("title", "bench", "sim_options"):
            if key in raw and not isinstance(raw[key], str):
                problems.append(f"{where} ({name}).{key}: must be a string, got {raw[key]!r}")
        runs.append(
            RunSpec(
                index=number,
                procedure=name,
                title=str(raw.get("title", "")),
                parameters=dict(raw.get("parameters", {}) or {}) if isinstance(raw.get("parameters", {}), dict) else {},
                quick=dict(raw.get("quick", {}) or {}) if isinstance(raw.get("quick", {}), dict) else {},
                bench=raw.get("bench") if isinstance(raw.get("bench"), str) else None,
                sim_options=raw.get("sim_options") if isinstance(raw.get("sim_options"), str) else None,
            )
        )
    if problems:
        raise CampaignError("\n".join(f"{path}: {p}" for p in problems))
    return Campaign(
        path=path,
        title=str(head.get("title", path.stem)),
        runs=runs,
        bench=_bench_path(path, head.get("bench")),
        seed=seed,
        sim_options=str(head.get("sim_options", "")),
        description=str(head.get("description", "")),
    )


def _bench_path(campaign_path: Path, bench: str | None) -> str | None:
    """A bench given in a campaign file: a built-in name as is, a relative file relative to the file."""
    if not bench:
        return None
    from tspcm_lab.bench import builtin_benches

    if bench in builtin_benches():
        return bench
    candidate = Path(bench)
    if not candidate.is_absolute():
        candidate = campaign_path.parent / candidate
    return str(candidate)


# ------------------------------------------------------------------------------------------------ running
@dataclass
class RunRecord:
    """One line of the index."""

    index: int
    procedure: str
    title: str
    status: str = "pending"  #: completed | aborted | failed | interrupted | skipped | not run
    file: str = ""
    n_rows: int = 0
    seconds: float = 0.0
    message: str = ""
    bench: str = ""
    seed: int | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass
class CampaignResult:
    folder: Path
    records: list[RunRecord]
    stopped: str = ""  #: why the campaign stopped early ("" when it went through)

    @property
    def files(self) -> list[Path]:
        return [self.folder / r.file for r in self.records if r.file and (self.folder / r.file).exists()]

    @property
    def ok(self) -> bool:
        """Every run that was meant to run completed (runs skipped as not installed do not count)."""
        return not self.stopped and all(r.status in ("completed", "skipped") for r in self.records)


class Notes:
    """Where a campaign reports what it does; the CLI prints, tests may collect."""

    def note(self, message: str) -> None: ...

    def off_problem(self, problem: str) -> None:
        """An output that could not be confirmed off when a bench closed."""
        self.note(f"WARNING: output may still be on: {problem}")

    def progress(self, record: RunRecord, total: int) -> runner.Progress:
        return runner.Progress()


def _json_value(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def write_index(
    folder: Path,
    campaign: Campaign,
    records: list[RunRecord],
    *,
    status: str,
    started: str,
    quick: bool,
    bench: str | None,
    stopped: str = "",
) -> None:
    """campaign.json (everything) and index.csv (one row per run), each replaced atomically."""
    doc = {
        "format": "tspcm-campaign",
        "format_version": "1.0",
        "title": campaign.title,
        "description": campaign.description,
        "campaign_file": str(campaign.path.resolve()),
        "status": status,
        "stopped": stopped,
        "started": started,
        "updated": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "bench": bench or "sim",
        "seed": campaign.seed,
        "runs": [{**r.__dict__, "parameters": {k: _json_value(v) for k, v in r.parameters.items()}} for r in records],
    }
    _replace(folder / INDEX_JSON, json.dumps(doc, indent=2) + "\n")
    columns = [
        "index",
        "procedure",
        "title",
        "status",
        "file",
        "n_rows",
        "seconds",
        "bench",
        "seed",
        "message",
        "parameters",
    ]
    tmp = folder / (INDEX_CSV + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for r in records:
            row = {**r.__dict__, "parameters": json.dumps({k: _json_value(v) for k, v in r.parameters.items()})}
            row["seconds"] = f"{r.seconds:.2f}"
            writer.writerow([row[c] if row[c] is not None else "" for c in columns])
    os.replace(tmp, folder / INDEX_CSV)


def _replace(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@dataclass
class _Planned:
    spec: RunSpec
    record: RunRecord
    procedure: Any = None
    session_key: tuple[str, str] | None = None


def run_campaign(
    campaign: Campaign,
    folder: str | Path,
    *,
    bench: str | None = None,
    seed: int | None = None,
    quick: bool = False,
    skip_missing: bool = False,
    lenient: bool = False,
    notes: Notes | None = None,
) -> CampaignResult:
    """Check every run, then run them one by one into ``folder``; returns the records (also in the index).

    ``bench``/``seed`` override the file's (a run's own ``bench`` stays with ``bench="sim"``, and is
    overridden by any other bench). ``skip_missing``: a procedure that is not installed is
    skipped with a note instead of refusing the campaign. ``lenient``: a run whose parameters are refused
    is skipped (status ``invalid``) instead of refusing the campaign. Raises CampaignError for a refused
    campaign (nothing was enabled), BenchConfigError/BenchOpenError for a bench that cannot be opened.
    """
    notes = notes or Notes()
    folder = Path(folder)
    source = bench or campaign.bench or "sim"
    seed = campaign.seed if seed is None else seed
    if seed is not None and campaign.seed != seed:
        campaign.seed = seed
    started = datetime.now(UTC).isoformat(timespec="seconds")
    with starting_up():  # importing the procedures
        plans = _plan_runs(
            campaign, bench, source, quick=quick, skip_missing=skip_missing, lenient=lenient, notes=notes
        )
    sessions: dict[tuple[str, str], runner.BenchSession] = {}
    result = CampaignResult(folder=folder, records=[p.record for p in plans])
    try:
        with starting_up():  # opening the benches
            _validate_on_benches(plans, sessions, seed, lenient=lenient, notes=notes)
        _run_plans(plans, sessions, campaign, result, notes, started=started, quick=quick, source=source)
    finally:
        for session in sessions.values():
            for problem in session.close():
                notes.off_problem(problem)
    if folder.exists():
        status = "stopped" if result.stopped else ("completed" if result.ok else "completed with problems")
        write_index(
            folder,
            campaign,
            result.records,
            status=status,
            started=started,
            quick=quick,
            bench=source,
            stopped=result.stopped,
        )
    return result


def _plan_runs(
    campaign: Campaign, bench: str | None, source: str, *, quick: bool, skip_missing: bool, lenient: bool, notes: Notes
) -> list[_Planned]:
    """Step 1: every procedure installed and every value converted, before any bench is opened."""
    from tspcm_lab import plugins

    plans: list[_Planned] = []
    problems: list[str] = []
    for spec in campaign.runs:
        record = RunRecord(index=spec.index, procedure=spec.procedure, title=spec.title or spec.procedure)
        plan = _Planned(spec, record)
        plans.append(plan)
        try:
            cls = plugins.load_procedure(spec.procedure)
        except plugins.ProcedureLookupError as exc:
            if skip_missing and isinstance(exc, plugins.UnknownProcedureError):
                record.status, record.message = "skipped", "not installed"
                notes.note(f"run {spec.index}: {spec.procedure} is not installed yet; skipped")
                continue
            if lenient:
                record.status, record.message = "invalid", str(exc)
                notes.note(f"run {spec.index}: {exc}; skipped")
                continue
            problems.append(f"run {spec.index}: {exc}")
            continue
        try:
            plan.procedure = runner.build_procedure(cls, spec.values(quick))
        except runner.ParameterInputError as exc:
            _refuse(
                plan,
                f"run {spec.index} ({spec.procedure}): {runner.parameter_error_text(exc)}",
                lenient,
                problems,
                notes,
            )
            continue
        # a run's own bench stands unless another real bench was forced (then everything runs there)
        keep_own = spec.bench and (not bench or bench == "sim")
        run_bench = _bench_path(campaign.path, spec.bench) if keep_own else source
        options = ";".join(p for p in (campaign.sim_options, spec.sim_options or "") if p)
        plan.session_key = (run_bench, options)
    if problems:
        raise CampaignError("\n".join(problems))
    return plans


def _validate_on_benches(
    plans: list[_Planned],
    sessions: dict[tuple[str, str], runner.BenchSession],
    seed: int | None,
    *,
    lenient: bool,
    notes: Notes,
) -> None:
    """Step 2: open the benches (one per distinct bench and options, into ``sessions``) and validate every
    run against its own."""
    from tspcm_lab.store.params import from_procedure

    problems: list[str] = []
    for plan in plans:
        if plan.session_key is None:
            continue
        key = plan.session_key
        if key not in sessions:
            sessions[key] = runner.BenchSession.open(key[0], seed=seed, sim_options=key[1], strict_options=False)
        session = sessions[key]
        required = [
            r for r in getattr(type(plan.procedure), "REQUIRED_ROLES", ()) if session.bench.roles.get(r) is None
        ]
        try:
            if required:
                raise runner.ParameterInputError(
                    "bench",
                    f"{plan.spec.procedure} needs the role(s) {', '.join(required)}, which "
                    f"{session.bench.path} does not configure",
                )
            plan.procedure.bench = session.bench
            runner.validate(plan.procedure)
        except Exception as exc:
            if not runner.is_parameter_error(exc):
                raise
            _refuse(
                plan,
                f"run {plan.spec.index} ({plan.spec.procedure}): {runner.parameter_error_text(exc)}",
                lenient,
                problems,
                notes,
            )
            plan.session_key = None
            continue
        plan.record.bench = session.name
        plan.record.seed = session.seed
        plan.record.parameters = {r.key: r.value for r in from_procedure(plan.procedure)}  # declared order
    if problems:
        raise CampaignError("\n".join(problems))


def _run_plans(
    plans: list[_Planned],
    sessions: dict[tuple[str, str], runner.BenchSession],
    campaign: Campaign,
    result: CampaignResult,
    notes: Notes,
    *,
    started: str,
    quick: bool,
    source: str,
) -> None:
    """Step 3: run the validated runs one by one, the index rewritten after each."""
    folder = result.folder
    folder.mkdir(parents=True, exist_ok=True)
    pending = [p for p in plans if p.session_key is not None]
    for plan in pending:
        plan.record.status = "not run"
    write_index(folder, campaign, result.records, status="running", started=started, quick=quick, bench=source)
    for number, plan in enumerate(pending, start=1):
        if result.stopped:
            break
        record = plan.record
        session = sessions[plan.session_key]
        path = runner.unique_path(folder / f"{record.index:02d}_{_safe(record.procedure)}.h5")
        record.file = path.name
        try:
            outcome = runner.execute(
                plan.procedure,
                session,
                path,
                seed=session.seed,
                title=f"{campaign.title}: {record.title}",
                last=number == len(pending),
                progress=notes.progress(record, len(pending)),
            )
        except KeyboardInterrupt:  # between the runner's own handling and here
            result.stopped = "stopped by Ctrl-C"
            record.status = "not run"
            record.file = ""
            break
        record.status, record.n_rows, record.message = outcome.status, outcome.n_rows, outcome.message
        record.seconds = round(outcome.seconds, 3)
        if outcome.off_problems:
            record.message = (
                (record.message + "; " if record.message else "")
                + "outputs may still be on: "
                + "; ".join(outcome.off_problems)
            )
            result.stopped = f"run {record.index} could not confirm every output off"
        elif outcome.interrupted:
            result.stopped = "stopped by Ctrl-C"
        write_index(folder, campaign, result.records, status="running", started=started, quick=quick, bench=source)


def _refuse(plan: _Planned, message: str, lenient: bool, problems: list[str], notes: Notes) -> None:
    if lenient:
        plan.record.status, plan.record.message = "invalid", message
        plan.session_key = None
        notes.note(f"{message}; skipped")
    else:
        problems.append(message)


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name) or "run"


def default_folder(base: str | Path) -> Path:
    """``base`` when it does not exist or is empty, else ``base-<time>``."""
    base = Path(base)
    if not base.exists() or (base.is_dir() and not any(base.iterdir())):
        return base
    return runner.unique_path(base.with_name(f"{base.name}-{runner.timestamp()}"))
