"""tspcm export: the compact model written from a device file, its bad-input refusals, and (when ngspice is
installed) the exported subcircuit in ngspice against the Python model on the same waveforms (issue 16,
must-show 3)."""

from __future__ import annotations

import numpy as np
import pytest

from sim_backend.params import DEFAULTS_FILE
from tspcm_lab.cli import main
from tspcm_lab.export import ngspice, validate, verilog_a
from tspcm_lab.export.device import load_device

NO_NGSPICE = "ngspice is not installed (Debian package ngspice; .ci/setup installs it)"


@pytest.fixture(scope="module")
def comparison():
    if ngspice.ngspice_path() is None:
        pytest.skip(NO_NGSPICE)
    return validate.compare(load_device(DEFAULTS_FILE))


def test_export_writes_both_formats_from_the_defaults_and_a_partial_file(tmp_path, capsys):
    partial = tmp_path / "mydevice.toml"  # as tspcm fit writes it: only what it changes, with provenance
    partial.write_text(
        '[ts]\nvth_v = { value = 1.35, unit = "V", basis = "fitted", source = "runs", '
        "interval = [1.3, 1.4], n_cells = 2 }\n"
    )
    assert main(["export", "spice", str(partial)]) == 0
    cir = (tmp_path / "mydevice.cir").read_text()
    assert ".subckt tspcm_cell top bot" in cir and "ts_vth_v=1.35" in cir and ".ends tspcm_cell" in cir
    assert "defaults of data/device_params.toml" in cir  # what the file did not list is said
    assert main(["export", "verilog-a", str(DEFAULTS_FILE), "-o", str(tmp_path / "d.va")]) == 0
    va = (tmp_path / "d.va").read_text()
    assert "module tspcm_cell(top, bot);" in va and verilog_a.sanity(va) == []
    assert "1 parameter(s) from the file" in capsys.readouterr().out


def test_a_parameter_not_identified_by_the_fit_is_marked_in_both_exported_files(tmp_path, capsys):
    """A value tspcm fit writes with basis "not identified" (it reproduces the runs, which do not measure it)
    is said so in the .cir's and the .va's header, on the .va's parameter line and in the console; a fitted one
    is not."""
    device = tmp_path / "mydevice.toml"
    device.write_text(
        '[ts]\nvth_v = { value = 1.35, unit = "V", basis = "fitted", source = "runs", interval = [1.3, 1.4] }\n'
        'v0_delay_v = { value = 0.18, unit = "V", basis = "not identified", source = "NOT IDENTIFIED (...)", '
        'interval = "none: not identified by these runs (header)" }\n'
    )
    assert main(["export", "spice", str(device)]) == 0
    assert main(["export", "verilog-a", str(device)]) == 0
    out = capsys.readouterr().out
    assert out.count("not identified by the fit's runs") == 2 and "ts.v0_delay_v" in out
    cir = (tmp_path / "mydevice.cir").read_text()
    va = (tmp_path / "mydevice.va").read_text()
    for text, comment in ((cir, "*"), (va, "//")):
        marked = [ln for ln in text.splitlines() if ln.startswith(f"{comment} NOT IDENTIFIED")]
        assert len(marked) == 1 and "ts.v0_delay_v" in marked[0] and "ts.vth_v" not in marked[0], marked
    assert "parameter real ts_v0_delay_v = 0.18;  // ts.v0_delay_v (NOT IDENTIFIED)" in va
    assert "parameter real ts_vth_v = 1.35;  // ts.vth_v\n" in va and verilog_a.sanity(va) == []


def test_export_of_a_device_file_written_by_tspcm_fit(tmp_path, capsys):
    run = tmp_path / "iv.h5"
    assert (
        main(
            [
                "run",
                "iv-sweep",
                "--sim",
                "--seed",
                "3",
                "--set",
                "cycles=3",
                "--set",
                "compliance_A=100e-6",
                "-o",
                str(run),
            ]
        )
        == 0
    )
    assert main(["fit", str(run), "-o", str(tmp_path / "my.toml")]) == 0
    assert main(["export", "spice", str(tmp_path / "my.toml")]) == 0
    fitted = load_device(tmp_path / "my.toml")
    cir = (tmp_path / "my.cir").read_text()
    assert "ts.vth_v" in fitted.from_file and f"ts_vth_v={fitted.value('ts.vth_v')!r}" in cir
    assert f"from the device file ({len(fitted.from_file)}): {', '.join(fitted.from_file)}" in cir
    assert fitted.defaults and "defaults of data/device_params.toml" in cir


def test_verilog_a_check_finds_what_it_must():
    good = verilog_a.module(load_device(DEFAULTS_FILE))
    assert verilog_a.sanity(good) == []
    assert any("undeclared: ts_vth_vv" in p for p in verilog_a.sanity(good.replace("ts_vth_v)", "ts_vth_vv)", 1)))
    assert any("'begin'" in p for p in verilog_a.sanity(good.replace("    end\nendmodule", "endmodule")))


def test_verilog_a_compiles_with_openvaf(tmp_path):
    openvaf = pytest.importorskip("openvaf_py", reason="openvaf-py (OpenVAF's compiler, a test extra) is not installed")
    va = tmp_path / "cell.va"
    va.write_text(verilog_a.module(load_device(DEFAULTS_FILE)))
    (module,) = openvaf.compile_va(str(va))
    assert module.name == "tspcm_cell"
    broken = tmp_path / "broken.va"  # the compiler is a check that can fail: a contribution to an unknown node
    broken.write_text(va.read_text().replace("V(u) <+", "V(nowhere) <+", 1))
    with pytest.raises(ValueError):
        openvaf.compile_va(str(broken))


@pytest.mark.parametrize(
    "text, says",
    [
        ('[ts]\nvth_v = { unit = "V" }\n', "'ts.vth_v' is missing its value"),
        ('[campaign]\nname = "x"\n', "not a device file: unknown table(s) campaign"),
        ("[ts]\nvth_x = 1.2\n", "unknown parameter 'ts.vth_x'"),
        ("", "lists no device parameter"),
        ("[ts\nvth_v = 1\n", "not valid TOML"),
        ("[ts]\nvth_v = 0.3\n", "'ts.vhold_v' = 0.5 V must be below ts.vth_v"),
    ],
)
def test_bad_device_file_one_line_exit_2_nothing_written(tmp_path, capsys, text, says):
    dev = tmp_path / "bad.toml"
    dev.write_text(text)
    for fmt, suffix in (("spice", ".cir"), ("verilog-a", ".va")):
        assert main(["export", fmt, str(dev)]) == 2
        err = capsys.readouterr().err.strip()
        assert says in err and len(err.splitlines()) == 1, err
        assert not (tmp_path / f"bad{suffix}").exists()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_ngspice_reproduces_threshold_and_hold_within_5_percent(comparison):
    assert comparison.errors["vth"] <= 0.05, comparison.vth
    assert comparison.errors["vhold"] <= 0.05, comparison.vhold


def test_ngspice_reproduces_the_reset_factor_within_20_percent(comparison):
    assert comparison.reset_factor["python"] > 1e3  # the RESET of a fully SET cell: a factor of ~2e4
    assert comparison.errors["reset_factor"] <= 0.20, comparison.reset_factor


def test_ngspice_reproduces_the_gradual_set_curve_within_10_percent(comparison):
    g = comparison.set_g["set_100ns"]
    assert g["python"].mean(axis=0)[-1] > 1.05 * g["python"].mean(axis=0)[0]  # the train does SET
    assert comparison.errors["set_curve:set_100ns"] <= 0.10, g


def test_ngspice_set_curve_of_the_steep_train_lies_within_the_seeds_spread(comparison):
    """Where the Python cells agree (relative sigma over seeds < 10 %) within 10 %; where they spread (the
    steep part, each pulse multiplying G by up to 10), within one sigma of their mean."""
    g = comparison.set_g["set_500ns"]
    mean, sd = g["python"].mean(axis=0), g["python"].std(axis=0, ddof=1)
    assert g["python"].mean(axis=0)[-1] > 1e3 * mean[0]  # the cell SETs fully
    err = np.abs(g["ngspice"] / mean - 1)
    assert np.all(err <= np.maximum(0.10, sd / mean)), (err, sd / mean)
    # (the pointwise worst is 9.7 % with the default 8 seeds, docs/fitting.md: too close to 10 % to assert
    # across ngspice versions; the 100 ns train carries the 10 % assertion)
