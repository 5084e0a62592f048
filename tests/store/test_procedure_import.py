"""A file names a procedure class; only registered procedures (entry points) or classes allow-listed in
TSPCM_ALLOWED_PROCEDURES are ever imported from it. The module ``this`` prints the Zen of Python when
imported: if any step imported it, the words would show."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tspcm_lab.store import RunWriter, open_run, restore_procedure

ZEN = "Beautiful is better than ugly"
TSPCM = Path(sys.executable).with_name("tspcm")


def test_a_csv_header_naming_a_module_does_not_import_it(tmp_path):
    csv = tmp_path / "old.csv"
    csv.write_text("#Procedure: <this.X>\n#Parameters:\n#\tWidth: 1e-06 s\n#Data:\nStep,Current (A)\n1,2e-6\n")
    out = subprocess.run([str(TSPCM), "import", str(csv)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert ZEN not in out.stdout + out.stderr
    assert "procedure this:X" in out.stdout  # recorded as it was, not imported


@pytest.mark.slow
def test_reopening_a_run_that_names_a_module_does_not_import_it(tmp_path):
    path = tmp_path / "run.h5"
    with RunWriter.create(
        path, parameters={"width_s": (1e-6, "s")}, columns=["Step"], procedure_class="this:X", procedure_name="x"
    ) as w:
        w.append_row({"Step": 1})
    code = (
        "import sys\nfrom tspcm_lab.store import HDF5Results\n"
        "r = HDF5Results.load(sys.argv[1])\nprint(type(r.procedure).__name__, 'this' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert ZEN not in out.stdout and out.stdout.split() == ["X", "False"]  # a stand-in, built from the file


def test_registered_and_allow_listed_classes_are_imported(tmp_path, monkeypatch):
    from procedures.iv_sweep import IVSweepProcedure

    path = tmp_path / "iv.h5"
    with RunWriter.create(path, procedure=IVSweepProcedure(), columns=["Step"]) as w:
        w.append_row({"Step": 1})
    assert type(restore_procedure(path)) is IVSweepProcedure  # an entry point of tspcm_lab.procedures
    other = tmp_path / "other.h5"
    with RunWriter.create(
        other,
        parameters={"n": 1},
        columns=["Step"],
        procedure_class="procedures.base:TspcmProcedure",
        procedure_name="base",
    ) as w:
        w.append_row({"Step": 1})
    assert type(restore_procedure(other)).__name__ == "TspcmProcedure"
    assert type(restore_procedure(other)).__module__ != "procedures.base"  # not registered: a stand-in
    monkeypatch.setenv("TSPCM_ALLOWED_PROCEDURES", "procedures.base:TspcmProcedure")
    from procedures.base import TspcmProcedure

    assert type(restore_procedure(other)) is TspcmProcedure


def _iv_rows(vth_V: float, vhold_V: float, cycles: int = 3) -> list[dict]:
    """Synthetic iv-sweep rows of a known threshold (device voltage, no series resistance): 0 -> 2 V -> 0 in
    10 mV steps, 1 nA/V off, the 10 uA compliance on from the first step above ``vth_V`` until the
    down branch passes ``vhold_V``."""
    up = np.round(np.arange(0, 201) * 0.01, 2)
    levels = np.concatenate([up, up[-2::-1]])
    rows = []
    for cycle in range(cycles):
        on = False
        for point, v in enumerate(levels):
            rising = point < up.size
            on = (v > vth_V) if rising else (on and v > vhold_V)
            i = 10e-6 if on else 1e-9 * v
            rows.append(
                {
                    "Cycle": cycle,
                    "Point": point,
                    "Direction": 1 if rising else -1,
                    "Voltage (V)": v,
                    "Voltage readback (V)": v,
                    "Current (A)": i,
                    "Cycle Vth (V)": np.nan,
                    "Cycle Vhold (V)": np.nan,
                }
            )
    return rows


def _features(paths, tmp_path) -> dict[str, dict[str, float]]:
    """{file name: {feature: value}} from ``tspcm analyze --summary``."""
    summary = tmp_path / "summary.csv"
    out = subprocess.run(
        [str(TSPCM), "analyze", *map(str, paths), "--summary", str(summary), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    found: dict[str, dict[str, float]] = {}
    for row in pd.read_csv(summary).to_dict("records"):
        found.setdefault(Path(row["path"]).name, {})[row["feature"]] = row["value"]
    return found


def test_a_pymeasure_csv_of_an_iv_sweep_imported_as_iv_sweep_analyses_to_its_threshold(tmp_path):
    from pymeasure.experiment import Results

    from procedures.iv_sweep import IVSweepProcedure

    class IVSweep(IVSweepProcedure):  # a lab's copy defined in a function: '<locals>' in its class path
        pass

    rows = _iv_rows(vth_V=1.2, vhold_V=0.4)
    written = {}
    for cls, name in ((IVSweep, "local.csv"), (IVSweepProcedure, "ours.csv")):
        procedure = cls()
        procedure.series_resistance_ohm = 0.0
        path = tmp_path / name
        results = Results(procedure, str(path))  # PyMeasure writes its own header
        with open(path, "a", encoding="utf-8") as f:
            f.writelines(results.format(row) + "\n" for row in rows)
        written[name] = path
    assert "<locals>.IVSweep>" in written["local.csv"].read_text().splitlines()[0]
    native = tmp_path / "native.h5"
    procedure = IVSweepProcedure()
    procedure.series_resistance_ohm = 0.0
    with RunWriter.create(native, procedure=procedure, columns=IVSweepProcedure.DATA_COLUMNS) as w:
        for row in rows:
            w.append_row(row)

    imported = tmp_path / "local.h5"
    out = subprocess.run(
        [str(TSPCM), "import", str(written["local.csv"]), "--procedure", "iv-sweep", "-o", str(imported)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    run = open_run(imported)
    assert run.procedure == "iv-sweep"
    assert run.procedure_class.endswith(
        ":test_a_pymeasure_csv_of_an_iv_sweep_imported_as_iv_sweep_analyses_to_its_threshold.<locals>.IVSweep"
    )  # the whole class path
    assert run.parameters["series_resistance_ohm"].value == 0.0  # keyed by the procedure's own names
    # a CSV of the project's own class needs no --procedure: its class path names it
    out = subprocess.run([str(TSPCM), "import", str(written["ours.csv"])], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert open_run(tmp_path / "ours.h5").procedure == "iv-sweep"

    found = _features([native, imported, tmp_path / "ours.h5"], tmp_path)
    for name in ("native.h5", "local.h5", "ours.h5"):
        assert found[name]["vth_mean_V"] == pytest.approx(1.2, abs=1e-9), name
        assert found[name]["n_cycles"] == 3
        assert found[name]["vhold_mean_V"] == found["native.h5"]["vhold_mean_V"]


def test_import_refuses_an_unknown_procedure_name(tmp_path):
    csv = tmp_path / "old.csv"
    csv.write_text("#Procedure: <x.X>\n#Parameters:\n#Data:\nStep\n1\n")
    out = subprocess.run(
        [str(TSPCM), "import", str(csv), "--procedure", "iv-sweeep"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 2
    assert "no procedure named 'iv-sweeep'" in out.stderr and "iv-sweep" in out.stderr
    assert not csv.with_suffix(".h5").exists()


def test_a_run_stored_with_the_old_program_and_verify_names_reads_with_the_new_ones(tmp_path):
    from procedures.retention import RetentionProcedure

    path = tmp_path / "old_retention.h5"
    with RunWriter.create(
        path,
        parameters={"tolerance": 0.15, "max_pulses": 80, "states": 2},
        columns=["State"],
        procedure_class="procedures.retention:RetentionProcedure",
        procedure_name="retention",
    ) as w:
        w.append_row({"State": 0})
    procedure = restore_procedure(path)
    assert type(procedure) is RetentionProcedure
    assert (procedure.program_tolerance, procedure.program_max_pulses, procedure.states) == (0.15, 80, 2)
