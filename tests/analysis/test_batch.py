"""Batch analysis of 90 run files (ten of each procedure; benchmarks/bench_analysis.py times thousands):
serial, a process pool and a Dask LocalCluster give one identical table; a corrupt file is reported by
name and the rest analysed; the CLI and summary files."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tspcm_lab.analysis.batch import SUMMARY_COLUMNS, analyze_paths, read_summary, write_summary
from tspcm_lab.analysis.examples import PROCEDURES
from tspcm_lab.cli import main

pytestmark = pytest.mark.slow

N_BATCH = 90  # as in conftest.batch_folder


@pytest.fixture(scope="module")
def serial(batch_folder):
    return analyze_paths([batch_folder], workers=1, progress=False)


def _check_table(result, batch_folder):
    table = result.table
    assert list(table.columns) == SUMMARY_COLUMNS
    assert result.n_files == N_BATCH + 1
    assert [p.endswith("corrupt.h5") for p, _ in result.errors] == [True]
    assert "not a readable HDF5 file" in result.errors[0][1]
    assert table["path"].nunique() == N_BATCH
    assert not table.duplicated(["path", "feature"]).any()  # one row per run and feature
    per_proc = table.groupby("procedure")["path"].nunique()
    assert per_proc.to_dict() == {p: len(range(i, N_BATCH, len(PROCEDURES))) for i, p in enumerate(PROCEDURES)}


def test_serial_batch(serial, batch_folder):
    _check_table(serial, batch_folder)
    vth = serial.table.query("feature == 'vth_mean_V'")["value"]
    assert vth.between(1.08, 1.12).all()


def test_process_pool_gives_identical_table(serial, batch_folder):
    pooled = analyze_paths([batch_folder], workers=2, progress=False)
    _check_table(pooled, batch_folder)
    pd.testing.assert_frame_equal(pooled.table, serial.table)
    assert pooled.errors == serial.errors


def test_dask_local_cluster_gives_identical_table(serial, batch_folder):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        result = analyze_paths([batch_folder], dask_address=cluster.scheduler_address, progress=False)
    _check_table(result, batch_folder)
    pd.testing.assert_frame_equal(result.table, serial.table)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_summary_file_merges_without_duplicates(serial, tmp_path, suffix):
    out = tmp_path / f"summary{suffix}"
    first = write_summary(serial.table, out)
    again = write_summary(serial.table, out)
    pd.testing.assert_frame_equal(first, again)
    back = read_summary(out)
    assert len(back) == len(serial.table)
    assert (
        back["value"].equals(serial.table["value"].reset_index(drop=True))
        or (back["value"] - serial.table["value"]).abs().max() == 0
    )
    with pytest.raises(ValueError, match="csv or .parquet"):
        write_summary(serial.table, tmp_path / "summary.xlsx")


def test_cli_reports_bad_file_and_is_idempotent(example_runs, tmp_path, capsys):
    folder = example_runs["iv-sweep"].parent
    bad = folder / "broken.h5"
    bad.write_bytes(b"definitely not hdf5")
    summary = tmp_path / "s.csv"
    try:
        code = main(["analyze", str(folder), "--summary", str(summary), "--workers", "1"])
        out = capsys.readouterr()
        assert code == 1
        assert f"failed: {bad.resolve()}:" in out.err
        assert f"analyzed {len(PROCEDURES)} of {len(PROCEDURES) + 1} files" in out.out
        text = summary.read_text()
        code = main(["analyze", str(folder), "--summary", str(summary), "--workers", "1", "--quiet"])
        assert code == 1 and summary.read_text() == text
    finally:
        bad.unlink()
    assert main(["analyze", str(folder), "--quiet", "--workers", "1"]) == 0
    assert "vth_mean_V" in capsys.readouterr().out
    assert main(["analyze", str(tmp_path / "nowhere")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_read_run_reads_the_columns_once_and_gives_what_open_run_gives(example_runs, tmp_path):
    from tspcm_lab.store.reader import open_run, read_run

    path = example_runs["iv-sweep"]
    live, snap = open_run(path), read_run(path)
    assert snap.attrs == live.attrs and snap.column_labels == live.column_labels
    assert snap.parameter_values == live.parameter_values
    cols = live.columns
    copy = tmp_path / "moved.h5"
    copy.write_bytes(Path(path).read_bytes())
    snap = read_run(copy)
    copy.unlink()  # the snapshot no longer needs the file for its rows
    for label, values in cols.items():
        np.testing.assert_array_equal(snap.columns[label], values)
        np.testing.assert_array_equal(snap.read_columns(1, 3)[label], values[1:3])
    snap.columns[live.column_labels[0]][:] = -1  # callers get their own arrays
    np.testing.assert_array_equal(snap.columns[live.column_labels[0]], cols[live.column_labels[0]])


def _has_module(name: str) -> bool:
    import sys

    return name in sys.modules


def test_preload_is_imported_once_before_the_workers_fork():
    """map_isolated(preload=...): with fork, the preload runs here once and every worker inherits what it
    imported (analyze_paths preloads scipy and the analyses so that neither each worker nor the report
    after it imports them again); with another start method it is not called."""
    import sys

    from tspcm_lab import isolated

    marker = "tabnanny"  # a module nothing else imports: imported by the preload, looked for by the workers
    if marker in sys.modules:
        pytest.skip(f"{marker} already imported")
    calls = []

    def preload():
        calls.append(1)
        import tabnanny  # noqa: F401

    forked = isolated._context().get_start_method() == "fork"
    results = dict(isolated.map_isolated(_has_module, [marker] * 3, timeout_s=60.0, workers=2, preload=preload))
    assert len(results) == 3
    if forked:
        assert calls == [1] and all(results.values())
    else:
        assert calls == [] and not any(results.values())
