"""Procedure plugins: a lab's own package, installed into a directory on sys.path with a real
``*.dist-info/entry_points.txt``, is found by importlib.metadata like any installed distribution."""

import textwrap

import pytest

from tspcm_lab import cli, plugins
from tspcm_lab.store import open_run

from tests.helpers.plugins import write_dist_info

LAB_MODULE = '''
from pymeasure.experiment import IntegerParameter, Procedure


class LabRamp(Procedure):
    """A lab's own procedure: SMU current at a few voltages (plain PyMeasure, no TspcmProcedure)."""

    name = "lab-ramp"
    REQUIRED_ROLES = ("smu",)
    points = IntegerParameter("Points", minimum=2, maximum=100, default=4)
    DATA_COLUMNS = ["Voltage (V)", "Current (A)"]

    def execute(self):
        smu = self.bench.smu
        smu.configure_voltage_source(compliance_a=1e-5, nplc=0.01)
        smu.output_on()
        for i in range(self.points):
            smu.set_voltage(0.1 * i)
            self.emit("results", {"Voltage (V)": 0.1 * i, "Current (A)": smu.measure_current()})

    def shutdown(self):
        if getattr(self, "bench", None) is not None:
            self.bench.all_off()
'''


@pytest.fixture
def lab_site(tmp_path, monkeypatch, plugin_site):
    """A package ``labprocs_<n>`` with one procedure, registered as lab-ramp, plus a broken entry."""
    site = tmp_path / "site"
    package = f"labprocs_{tmp_path.name[-8:].replace('-', '_')}"
    (site / package).mkdir(parents=True)
    (site / package / "__init__.py").write_text("")
    (site / package / "ramp.py").write_text(textwrap.dedent(LAB_MODULE))
    write_dist_info(
        site,
        "lab-procs",
        {"lab-ramp": f"{package}.ramp:LabRamp", "lab-broken": f"{package}.missing:Nothing"},
        version="1.0",
    )
    monkeypatch.syspath_prepend(str(site))
    return site, package


def test_a_labs_package_adds_its_procedure_without_touching_ours(lab_site, capsys, tmp_path):
    site, package = lab_site
    assert {"lab-ramp", "lab-broken", "smu-steps"} <= set(plugins.names())
    entry = plugins.find("lab-ramp")
    assert (entry.value, entry.distribution) == (f"{package}.ramp:LabRamp", "lab-procs")
    assert plugins.load_procedure("lab-ramp").__name__ == "LabRamp"

    assert cli.main(["procedures"]) == 0  # a broken plugin is listed, not fatal
    out = capsys.readouterr().out
    assert "lab-ramp: A lab's own procedure" in out and f"({package}.ramp:LabRamp, lab-procs; roles: smu)" in out
    assert "lab-broken  (cannot load" in out and "ModuleNotFoundError" in out
    assert "smu-steps" in out

    path = tmp_path / "lab.h5"
    assert cli.main(["run", "lab-ramp", "--sim", "--seed", "51", "--set", "points=6", "-o", str(path)]) == 0
    run = open_run(path)
    assert (run.status, run.n_rows, run.procedure, run.procedure_class) == (
        "completed",
        6,
        "lab-ramp",
        f"{package}.ramp:LabRamp",
    )
    capsys.readouterr()
    assert cli.main(["run", "lab-ramp", "--sim", "--set", "points=1"]) == 2  # its own range, checked by us
    assert "points" in capsys.readouterr().err

    assert cli.main(["run", "lab-broken", "--sim"]) == 2
    err = capsys.readouterr().err
    assert "procedure 'lab-broken' cannot be loaded" in err and "lab-procs" in err


def test_two_packages_claiming_one_name_are_refused_by_name(lab_site, monkeypatch, tmp_path, capsys):
    other = tmp_path / "other-site"
    write_dist_info(other, "other-lab", {"lab-ramp": "other_lab.ramp:Ramp"})
    monkeypatch.syspath_prepend(str(other))
    with pytest.raises(plugins.ProcedureLookupError, match="more than one package") as info:
        plugins.find("lab-ramp")
    assert "other-lab" in str(info.value) and "lab-procs" in str(info.value)
    assert cli.main(["run", "lab-ramp", "--sim"]) == 2
    assert "registered by more than one package" in capsys.readouterr().err
