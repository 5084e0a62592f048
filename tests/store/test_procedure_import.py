"""A file names a procedure class; only registered procedures (entry points) or classes allow-listed in
TSPCM_ALLOWED_PROCEDURES are ever imported from it. The module ``this`` prints the Zen of Python when
imported: if any step imported it, the words would show."""

import subprocess
import sys
from pathlib import Path

import pytest

from tspcm_lab.store import RunWriter, restore_procedure

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
    with RunWriter.create(path, parameters={"width_s": (1e-6, "s")}, columns=["Step"],
                          procedure_class="this:X", procedure_name="x") as w:
        w.append_row({"Step": 1})
    code = ("import sys\nfrom tspcm_lab.store import HDF5Results\n"
            "r = HDF5Results.load(sys.argv[1])\nprint(type(r.procedure).__name__, 'this' in sys.modules)")
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
    with RunWriter.create(other, parameters={"n": 1}, columns=["Step"],
                          procedure_class="procedures.base:TspcmProcedure", procedure_name="base") as w:
        w.append_row({"Step": 1})
    assert type(restore_procedure(other)).__name__ == "TspcmProcedure"
    assert type(restore_procedure(other)).__module__ != "procedures.base"  # not registered: a stand-in
    monkeypatch.setenv("TSPCM_ALLOWED_PROCEDURES", "procedures.base:TspcmProcedure")
    from procedures.base import TspcmProcedure

    assert type(restore_procedure(other)) is TspcmProcedure
