"""Analyse many run files: one file at a time, a local process pool, or a Dask cluster.

Each file is opened with the store's reader, analysed by the function registered for its procedure, the
result written back under ``/analysis/<procedure>`` (replacing an earlier one, so re-running never
duplicates) and turned into rows of the tidy summary table (:data:`SUMMARY_COLUMNS`, one row per run and
feature). A file that cannot be analysed is reported by name with the reason and does not stop the others;
locally, files are analysed in child processes (`tspcm_lab.isolated`), so even a damaged file on which the
HDF5 library hangs or crashes costs only that file.
Results are sorted by path and feature, so serial, pool and cluster runs give identical tables.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tspcm_lab.analysis.features import ANALYSIS_VERSION, RunAnalysis

SUMMARY_COLUMNS = ["path", "run_id", "procedure", "feature", "value", "units", "method", "criterion", "version"]
#: longest time one file's analysis may take before it counts as hung (s), plus 1 s per 5 MB
ANALYZE_TIMEOUT_S = 120.0


@dataclass
class FileResult:
    """Outcome of one file: summary rows, or the error that stopped it; a warning when it was analysed
    but the result could not be written back (a run still being written, or one left open by a crash)."""

    path: str
    rows: list = field(default_factory=list)
    error: str | None = None
    warning: str | None = None


@dataclass
class BatchResult:
    table: pd.DataFrame
    errors: list  # [(path, message)]
    warnings: list  # [(path, message)]
    n_files: int = 0


def find_run_files(paths) -> list[str]:
    """Run files named by ``paths``: files as given, folders searched recursively for .h5/.hdf5.

    Returns sorted, de-duplicated absolute paths. A path that does not exist is an error naming it.
    """
    from tspcm_lab.store.reader import find_run_files as find

    return sorted({str(Path(p).resolve()) for p in find(paths, recursive=True)})


def _message(path: str, exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if text.startswith(path):
        text = text[len(path) :].lstrip(": ")
    return text if isinstance(exc, (ValueError, LookupError, OSError)) else f"{type(exc).__name__}: {text}"


def rows_for(path: str, run_id: str, procedure: str, analysis: RunAnalysis) -> list[dict]:
    return [
        {
            "path": path,
            "run_id": run_id,
            "procedure": procedure,
            "feature": f.name,
            "value": f.value,
            "units": f.units,
            "method": f.method,
            "criterion": f.criterion,
            "version": ANALYSIS_VERSION,
        }
        for f in analysis.features
    ]


def write_run_analysis(path, analysis: RunAnalysis) -> None:
    """Write ``analysis`` under ``/analysis/<name>`` of the run file through the store (one ``r+`` open)."""
    from tspcm_lab.store.analysis import write_analysis

    values, units, described = {}, {}, {}
    for f in analysis.features:  # each feature's own method and criterion on its dataset: it says what it is
        values[f.name], units[f.name] = f.value, f.units
        described[f.name] = {"method": f.method, "criterion": f.criterion}
    for name, (arr, u) in analysis.arrays.items():
        values[name], units[name] = np.asarray(arr), u
    settings = {k: v for k, v in analysis.settings.items() if v is not None}
    write_analysis(
        path,
        analysis.name,
        values,
        units,
        method=analysis.method,
        criterion=analysis.criterion,
        described=described,
        analysis_version=ANALYSIS_VERSION,
        **settings,
    )


def analyze_run_file(path, write: bool = True) -> FileResult:
    """Analyse one run file (never raises: failures come back in :attr:`FileResult.error`).

    The file is opened twice: once read-only for its parameters and columns (read once, handed to the
    analysis through the run), once ``r+`` to write ``/analysis/<name>`` back."""
    from tspcm_lab.analysis.registry import get_analysis
    from tspcm_lab.store.errors import RunBusyError
    from tspcm_lab.store.reader import read_run

    path = str(path)
    try:
        run = read_run(path)  # one open: static parts and every column, which the analysis then uses
        procedure = run.procedure
        analysis = get_analysis(procedure)(run)
        run_id = str(run.attrs.get("run_id") or Path(path).stem)
        result = FileResult(path, rows_for(path, run_id, procedure, analysis))
    except Exception as exc:  # one bad file must not stop a batch
        return FileResult(path, error=_message(path, exc))
    if write:
        try:
            write_run_analysis(path, analysis)
        except RunBusyError as exc:
            result.warning = f"analysed but not written back: {_message(path, exc)}"
        except Exception as exc:
            result.error = f"analysed but writing /analysis failed: {_message(path, exc)}"
            result.rows = []
    return result


def _analyze_chunk(paths: list[str], write: bool) -> list[FileResult]:
    return [analyze_run_file(p, write) for p in paths]


def _analyze_job(job: tuple[str, bool]) -> FileResult:
    return analyze_run_file(*job)


def _timeout_s(job: tuple[str, bool]) -> float:
    try:
        return ANALYZE_TIMEOUT_S + os.path.getsize(job[0]) / 5e6
    except OSError:
        return ANALYZE_TIMEOUT_S


class Progress:
    """tqdm on a terminal, otherwise a plain line every ~5 % of the files (and at the end)."""

    def __init__(self, total: int, enabled: bool = True, stream=None):
        self.total, self.done, self.failed = total, 0, 0
        self.stream = stream or sys.stderr
        self.enabled = enabled and total > 0
        self._bar = None
        self._every = max(1, total // 20)
        if self.enabled and getattr(self.stream, "isatty", lambda: False)():
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="file", file=self.stream, desc="analyze")

    def update(self, result: FileResult) -> None:
        self.done += 1
        self.failed += result.error is not None
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(1)
            if self.failed:
                self._bar.set_postfix(failed=self.failed)
        elif self.done % self._every == 0 or self.done == self.total:
            print(f"analyze: {self.done}/{self.total} files ({self.failed} failed)", file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _preload_analyses() -> None:
    """Import what the analyses of run files import (the registered analyses, scipy's fits and special
    functions, the run-file reader): ~0.5 s, paid once in the parent instead of once per forked worker."""
    import scipy.optimize
    import scipy.special  # noqa: F401

    import tspcm_lab.store.reader  # noqa: F401
    from tspcm_lab.analysis import registry

    registry.registered()


def _chunks(items: list, n: int) -> list[list]:
    return [items[i : i + n] for i in range(0, len(items), n)]


def analyze_paths(
    paths, *, workers: int = 1, dask_address: str | None = None, write: bool = True, progress: bool = True, stream=None
) -> BatchResult:
    """Analyse every run file under ``paths``.

    ``workers`` child processes analyse the files (`tspcm_lab.isolated`: one that hangs or crashes on a
    file costs that file only); ``dask_address`` (e.g. "tcp://127.0.0.1:8786") sends the files to that
    Dask distributed scheduler instead, in chunks so that the per-task overhead stays small next to a
    file's few milliseconds.
    """
    if int(workers) < 1:
        raise ValueError(f"workers must be >= 1, got {workers!r}")
    files = find_run_files(paths)
    bar = Progress(len(files), progress, stream)
    results: list[FileResult] = []
    try:
        if dask_address:
            results = _run_dask(files, dask_address, write, bar)
        else:
            from tspcm_lab.isolated import Failed, map_isolated

            jobs = [(f, write) for f in files]
            for index, r in map_isolated(
                _analyze_job, jobs, timeout_s=_timeout_s, workers=int(workers), preload=_preload_analyses
            ):
                if isinstance(r, Failed):
                    r = FileResult(files[index], error=r.reason)
                bar.update(r)
                results.append(r)
    finally:
        bar.close()
    return collect(results)


def _run_dask(files: list[str], address: str, write: bool, bar: Progress) -> list[FileResult]:
    from distributed import Client, as_completed

    results = []
    with Client(address, set_as_default=False) as client:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        size = max(1, min(64, math.ceil(len(files) / (n_workers * 8))))
        chunks = _chunks(files, size)
        futures = {client.submit(_analyze_chunk, chunk, write, pure=False): chunk for chunk in chunks}
        for fut in as_completed(list(futures), loop=client.loop):
            try:
                chunk_results = fut.result()
            except Exception as exc:  # noqa: BLE001 - e.g. a worker killed by a file it crashed on
                chunk_results = [
                    FileResult(p, error=f"the Dask task for it failed: {_message(p, exc)}") for p in futures[fut]
                ]
            for r in chunk_results:
                bar.update(r)
                results.append(r)
    return results


def collect(results: list[FileResult]) -> BatchResult:
    """Build the sorted summary table and the error and warning lists from per-file results."""
    rows = [row for r in results for row in r.rows]
    table = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    table["value"] = table["value"].astype(float)
    table = table.sort_values(["path", "feature"], kind="stable").reset_index(drop=True)
    errors = sorted((r.path, r.error) for r in results if r.error)
    warnings = sorted((r.path, r.warning) for r in results if r.warning)
    return BatchResult(table, errors, warnings, len(results))


def read_summary(path) -> pd.DataFrame:
    path = Path(path)
    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={"units": str, "criterion": str})


def write_summary(table: pd.DataFrame, path, merge: bool = True) -> pd.DataFrame:
    """Write the summary to ``path`` (.csv or .parquet); with ``merge``, rows of an existing summary for
    runs not in ``table`` are kept and those for runs in it replaced, so re-running never duplicates."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ValueError(f"summary file must end in .csv or .parquet, got {path.name!r}")
    out = table
    if merge and path.exists():
        old = read_summary(path)
        old = old[~old["path"].isin(set(table["path"]))]
        out = pd.concat([old[SUMMARY_COLUMNS], table], ignore_index=True)
    out = out.sort_values(["path", "feature"], kind="stable").reset_index(drop=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if suffix == ".parquet":
        out.to_parquet(tmp, index=False)
    else:
        out.to_csv(tmp, index=False)
    os.replace(tmp, path)
    return out
