"""Round trip: a real PyMeasure procedure writes a run file headless; h5dump, h5py, pandas and xarray
(in a process that never imports tspcm_lab) read back its parameters, units and every row."""

import json
import subprocess
import sys

import numpy as np
import pytest

from tspcm_lab.store import HDF5Results, RunWriter, open_run, restore_procedure

from tests.helpers.runs import run_headless
from tests.helpers.store_procedures import TinySweep

READ_WITHOUT_TSPCM = r"""
import json, sys
import h5py, pandas as pd, xarray as xr
path = sys.argv[1]
with h5py.File(path, "r") as f:
    root = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    params = {k: {"value": ds[()].item() if hasattr(ds[()], "item") else ds[()],
                  "units": ds.attrs["units"], "label": ds.attrs["label"]}
              for k, ds in f["parameters"].items()}
    order = list(f["data"].attrs["columns"])
    frame = pd.DataFrame({f["data"][k].attrs["label"]: f["data"][k][:] for k in order})
    units = {f["data"][k].attrs["label"]: f["data"][k].attrs["units"] for k in order}
    ds = xr.Dataset({k: ("row", f["data"][k][:], dict(f["data"][k].attrs)) for k in order})
print(json.dumps({
    "format": root["format"], "status": root["status"], "procedure": root["procedure"],
    "seed": int(root["seed"]), "params": params, "columns": list(frame.columns), "units": units,
    "voltage": frame["Voltage (V)"].tolist(), "current": frame["Current (A)"].tolist(),
    "xr_current_units": ds["current_A"].attrs["units"], "xr_rows": int(ds.sizes["row"]),
    "tspcm_imported": any(m.startswith("tspcm_lab") for m in sys.modules),
}, default=str))
"""


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("rt") / "sweep.h5"
    procedure = TinySweep(start_voltage=-0.5, stop_voltage=0.5, points=21, resistance=2000.0)
    bench = {
        "smu": {
            "identity": "KEITHLEY INSTRUMENTS,MODEL 2450,0,1.7",
            "resource": "GPIB0::18::INSTR",
            "settings": {"nplc": 0.1, "compliance_A": 1e-3},
        },
        "device": {"simulated": True, "vth_V": 0.9},
    }
    run_headless(procedure, path, bench=bench, seed=42, title="round trip")
    return path


@pytest.mark.slow
def test_other_process_reads_everything_without_tspcm_lab(sweep_file):
    out = subprocess.run(
        [sys.executable, "-c", READ_WITHOUT_TSPCM, str(sweep_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    got = json.loads(out.stdout)
    assert got["tspcm_imported"] is False
    assert (got["format"], got["status"], got["procedure"], got["seed"]) == ("tspcm-run", "completed", "tiny-sweep", 42)
    assert got["params"]["start_voltage"] == {"value": -0.5, "units": "V", "label": "Start Voltage"}
    assert got["params"]["resistance"]["units"] == "ohm"
    assert got["params"]["points"]["value"] == 21
    assert got["columns"] == ["Voltage (V)", "Current (A)", "Step"]
    assert got["units"] == {"Voltage (V)": "V", "Current (A)": "A", "Step": ""}
    expected_v = np.linspace(-0.5, 0.5, 21)
    np.testing.assert_array_equal(got["voltage"], expected_v)
    np.testing.assert_allclose(got["current"], expected_v / 2000.0, rtol=0, atol=0)
    assert got["xr_current_units"] == "A" and got["xr_rows"] == 21


def test_h5dump_reads_units_parameters_and_rows(sweep_file):
    out = subprocess.run(
        [
            "h5dump",
            "-a",
            "/data/current_A/units",
            "-a",
            "/parameters/stop_voltage/units",
            "-d",
            "/parameters/stop_voltage",
            "-d",
            "/data/step",
            str(sweep_file),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert '"A"' in out.stdout and '"V"' in out.stdout
    assert "0.5" in out.stdout
    # every step 0..20 appears in the dump of /data/step
    numbers = [
        float(tok)
        for tok in out.stdout.split('DATASET "/data/step"')[1]
        .split("DATA {")[1]
        .split("}")[0]
        .replace("(", " ")
        .replace(")", " ")
        .replace(":", " ")
        .replace(",", " ")
        .split()
    ]
    assert set(range(21)) <= set(numbers)


def test_reader_gets_bench_log_waveform_progress(sweep_file):
    run = open_run(sweep_file)
    assert run.status == "completed" and run.seed == 42 and run.title == "round trip"
    assert run.bench["smu"]["resource"] == "GPIB0::18::INSTR"
    assert run.bench["smu"]["settings"]["compliance_A"] == 1e-3
    assert run.bench["device"] == {"simulated": True, "vth_V": 0.9}
    assert run.parameters["stop_voltage"].value == 0.5 and run.parameters["stop_voltage"].units == "V"
    assert run.progress == 100.0
    [sweep] = run.waveforms["sweep"]
    np.testing.assert_array_equal(sweep.x, np.linspace(-0.5, 0.5, 21))
    np.testing.assert_array_equal(sweep.y, np.linspace(-0.5, 0.5, 21) / 2000.0)
    assert (sweep.y_units, sweep.x_units, sweep.row) == ("A", "V", 21)
    assert any("compliance not reached (21 points)" in r["message"] and r["level"] == 30 for r in run.log)
    for name in (
        "version_tspcm_lab",
        "version_pymeasure",
        "version_pyvisa",
        "version_numpy",
        "version_h5py",
        "version_python",
    ):
        assert run.attrs[name], name
    assert run.attrs["procedure_class"] == "tests.helpers.store_procedures:TinySweep"
    assert run.attrs["start_time"].endswith("+00:00") and run.attrs["end_time"] > run.attrs["start_time"]


def test_reopen_restores_procedure_and_data(sweep_file, monkeypatch):
    monkeypatch.setenv("TSPCM_ALLOWED_PROCEDURES", "tests.helpers.store_procedures:TinySweep")  # not an entry point
    results = HDF5Results.load(sweep_file)
    assert isinstance(results.procedure, TinySweep)
    assert results.procedure.start_voltage == -0.5 and results.procedure.points == 21
    assert results.procedure.status == TinySweep.FINISHED
    assert list(results.data.columns) == TinySweep.DATA_COLUMNS and len(results.data) == 21
    assert results.data_filenames == []


def test_reopen_unimportable_procedure_gives_stand_in(tmp_path):
    path = tmp_path / "foreign.h5"
    with RunWriter.create(
        path,
        parameters={"width_s": (1e-6, "s"), "pulses": 5},
        columns=["Pulse", "Conductance (S)"],
        procedure_class="lab_code_not_here.pulses:PulseTrain",
        procedure_name="pulse-train",
    ) as w:
        w.append_row({"Pulse": 1, "Conductance (S)": 2e-6})
    procedure = restore_procedure(path)
    assert type(procedure).__name__ == "PulseTrain" and procedure.name == "pulse-train"
    objects = procedure.parameter_objects()
    assert procedure.width_s == 1e-6 and objects["width_s"].units == "s"
    assert procedure.pulses == 5
    assert procedure.DATA_COLUMNS == ["Pulse", "Conductance (S)"]
    with pytest.raises(NotImplementedError):
        procedure.startup()


def test_batch_results_are_stored_as_columns(tmp_path, headless):
    path = tmp_path / "batch.h5"
    headless(TinySweep(points=50_000, batch=True), path)
    frame = open_run(path).to_pandas()
    assert len(frame) == 50_000
    np.testing.assert_array_equal(frame["Step"], np.arange(50_000))
    np.testing.assert_allclose(frame["Current (A)"], np.linspace(0, 1, 50_000) / 1000.0, rtol=1e-15)


def test_failed_procedure_keeps_rows_and_error(tmp_path, headless):
    path = tmp_path / "failed.h5"
    headless(TinySweep(points=10, fail_after=4), path)
    run = open_run(path)
    assert run.status == "failed"
    assert run.n_rows == 4
    assert "simulated instrument fault at step 4" in run.error


def test_checksum_at_close_covers_what_changed_after_going_live(tmp_path):
    """The writer's checksum at close reuses the parameters and bench it read when going live: the run
    must still open (checksum right) when root attributes and metadata arrive after going live, and a
    later edit of the parameters that bypasses the writer is still caught."""
    import h5py

    from tspcm_lab.store.digest import DIGEST_ATTR, metadata_digest, read_metadata
    from tspcm_lab.store.errors import CorruptRunError

    def written(name, late_metadata):
        path = tmp_path / name
        with RunWriter.create(path, parameters={"width_s": (1e-6, "s")}, columns=["Pulse"], metadata={"a": 1}) as w:
            w.go_live()
            w.append_row({"Pulse": 1})
            w.set_attrs(title="set while live")
            if late_metadata:
                w.set_metadata({"tau_s": (2e-3, "s")})
        return path

    for name, late in (("plain.h5", False), ("late.h5", True)):
        path = written(name, late)
        run = open_run(path)  # raises CorruptRunError when the stored checksum is stale
        assert run.title == "set while live" and run.status == "completed"
        assert ("tau_s" in run.metadata) is late
        with h5py.File(path, "r") as h5:
            assert h5.attrs[DIGEST_ATTR] == metadata_digest(*read_metadata(h5))
    with h5py.File(path, "r+") as h5:
        h5["parameters/width_s"].attrs["units"] = "ms"
    with pytest.raises(CorruptRunError):
        open_run(path)


def test_read_ending_agrees_with_the_reader(tmp_path):
    """The runner's light read (status and rows, no metadata) says what `open_run` says: while the run
    is written, once completed, and for a failed run."""
    from tspcm_lab.store.reader import read_ending

    path = tmp_path / "live.h5"
    w = RunWriter.create(path, parameters={"n": 3}, columns=["Pulse", "Current (A)"])
    w.go_live()
    for i in range(3):
        w.append_row({"Pulse": i, "Current (A)": 1e-6 * i})
    w.flush()
    run = open_run(path)
    assert read_ending(path) == (run.status, run.n_rows) == ("running", 3)
    w.close()
    assert read_ending(path) == (run.status, run.n_rows) == ("completed", 3)
    failed = tmp_path / "failed.h5"
    with RunWriter.create(failed, columns=["Pulse"]) as w:
        w.append_row({"Pulse": 1})
        w.close("failed", error="the SMU stopped answering")
    run = open_run(failed)
    assert read_ending(failed) == (run.status, run.n_rows) == ("failed", 1)
