"""The store's CLI: one clear error line for bad input, the run list, CSV import; analysis write-back
and the writer's handling of odd input."""

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from pymeasure.experiment import Results, Worker

from tspcm_lab.cli import main
from tspcm_lab.store import NotARunError, RunWriter, list_runs, open_run, write_analysis

from tests.helpers.store_procedures import TinySweep


@pytest.fixture
def bad_files(tmp_path):
    text = tmp_path / "notes.h5"
    text.write_text("this is not HDF5\n")
    good = tmp_path / "good.h5"
    with RunWriter.create(good, columns=["Voltage (V)"]) as w:
        w.append_columns({"Voltage (V)": np.zeros(20_000)})
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(good.read_bytes()[:4000])
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = np.arange(3)
    return {"not HDF5": text, "truncated": truncated, "foreign": foreign}


@pytest.mark.parametrize("command", ["runs", "repair"])
@pytest.mark.parametrize("kind", ["not HDF5", "truncated", "foreign"])
def test_bad_input_gives_one_error_line(bad_files, kind, command, capsys):
    path = bad_files[kind]
    assert main([command, str(path)]) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"tspcm {command}: error: {path}")
    assert {"not HDF5": "file signature not found", "truncated": "truncated file", "foreign": "not a tspcm run file"}[
        kind
    ] in lines[0]
    with pytest.raises(NotARunError):
        open_run(path)


def test_bad_input_from_a_real_shell_has_no_traceback(bad_files):
    tspcm = Path(sys.executable).with_name("tspcm")  # the installed console script users run
    out = subprocess.run([str(tspcm), "runs", str(bad_files["foreign"])], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_runs_lists_procedure_status_and_key_parameters(tmp_path, headless, capsys):
    headless(TinySweep(points=3, stop_voltage=0.25), tmp_path / "a.h5")
    headless(TinySweep(points=5, fail_after=2), tmp_path / "b.h5")
    (tmp_path / "junk.h5").write_text("junk")
    table = list_runs(tmp_path)
    assert list(table["status"]) == ["unreadable", "completed", "failed"]  # unreadable: no start time
    assert table.loc[1, "procedure"] == "tiny-sweep" and table.loc[1, "n_rows"] == 3
    assert table.loc[1, "parameters"] == "Stop Voltage=250 mV, Points=3"  # KEY_PARAMETERS, SI prefixes
    assert main(["runs", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "tiny-sweep" in out and "failed" in out and "junk.h5: not a readable HDF5 file" in out


def test_import_of_pymeasure_csv_round_trips(tmp_path, capsys):
    csv = tmp_path / "old.csv"
    procedure = TinySweep(start_voltage=0.1, stop_voltage=0.7, points=7, resistance=500.0)
    worker = Worker(Results(procedure, str(csv)))  # PyMeasure's own CSV storage
    worker.start()
    while worker.is_alive():
        worker.join(60)
    assert main(["import", str(csv), "--output", str(tmp_path / "old.h5")]) == 0
    run = open_run(tmp_path / "old.h5")
    assert run.status == "imported" and run.procedure_class == "tests.helpers.store_procedures:TinySweep"
    p = run.parameters
    assert (p["start_voltage"].value, p["start_voltage"].units) == (0.1, "V")
    assert (p["resistance"].value, p["resistance"].units) == (500.0, "ohm")
    assert p["points"].value == 7 and p["batch"].value is False
    assert run.units == {"Voltage (V)": "V", "Current (A)": "A", "Step": ""}
    frame = run.to_pandas()
    np.testing.assert_allclose(frame["Voltage (V)"], np.linspace(0.1, 0.7, 7), rtol=1e-15)
    np.testing.assert_allclose(frame["Current (A)"], np.linspace(0.1, 0.7, 7) / 500.0, rtol=1e-15)


def test_import_without_the_procedure_class_parses_units(tmp_path):
    from tspcm_lab.store import import_pymeasure_csv

    csv = tmp_path / "lab.csv"
    csv.write_text(
        "#Procedure: <labcode.Pulses>\n#Parameters:\n#\tWidth: 1e-06 s\n#\tPulses: 10\n"
        "#\tMode: fast\n#\tFlag: True\n#Data:\nPulse,Conductance (S)\n1,2e-6\n2,3e-6\n"
    )
    run = open_run(import_pymeasure_csv(csv))
    p = run.parameters
    assert (p["width"].value, p["width"].units, p["pulses"].value) == (1e-6, "s", 10)
    assert p["mode"].value == "fast" and p["flag"].value is True
    assert run.columns["Conductance (S)"].tolist() == [2e-6, 3e-6]


def test_write_analysis_replaces_instead_of_duplicating(tmp_path):
    path = tmp_path / "r.h5"
    with RunWriter.create(path, columns=["Voltage (V)", "Current (A)"]) as w:
        w.append_row({"Voltage (V)": 1.0, "Current (A)": 1e-6})
    write_analysis(
        path,
        "threshold",
        {"vth_V": [0.9, 0.95], "n": 2},
        {"vth_V": "V"},
        method="largest jump in log I",
        criterion="jump",
    )
    write_analysis(path, "threshold", {"vth_V": [0.91]}, {"vth_V": "V"}, method="fixed current", criterion="1e-6 A")
    analysis = open_run(path).analysis
    assert list(analysis) == ["threshold"]
    entry = analysis["threshold"]
    assert entry["values"] == {"vth_V": [0.91]} and entry["units"] == {"vth_V": "V"}
    assert entry["method"] == "fixed current" and entry["software_version"]


def test_writer_orders_rows_and_batches_and_flags_bad_values(tmp_path):
    path = tmp_path / "w.h5"
    with RunWriter.create(path, columns=["Voltage (V)", "Conductance (A/V)"]) as w:
        w.append_row({"Voltage (V)": 1.0})
        w.append_columns({"Voltage (V)": [2.0, 3.0], "Conductance (A/V)": [0.5, 0.25]})
        w.append_row({"Voltage (V)": "4", "Conductance (A/V)": "n/a", "Extra": 1})
        with pytest.raises(ValueError, match="equal lengths"):
            w.append_columns({"Voltage (V)": [1.0], "Conductance (A/V)": [1.0, 2.0]})
    run = open_run(path)
    assert run.column_keys == {"Voltage (V)": "voltage_V", "Conductance (A/V)": "conductance_A_per_V"}
    np.testing.assert_array_equal(run.columns["Voltage (V)"], [1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(run.columns["Conductance (A/V)"], [np.nan, 0.5, 0.25, np.nan])
    messages = " ".join(r["message"] for r in run.log)
    assert "'Extra' is not one of the run's columns" in messages and "'n/a' is not a number" in messages
