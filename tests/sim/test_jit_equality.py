"""Issue 12, must-show 5: the compiled stepper and the same kernel run uncompiled (``TSPCM_NO_JIT=1``) give
the same results. Tolerance: none - bit-identical arrays and run files (numba compiles without fastmath, so
every operation rounds as CPython's does). Each path runs in its own process, since the switch is read at
import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
#: what differs between any two runs of the same procedure: wall-clock times, the writer's process, and
#: the flag that says which path ran (and the metadata checksum, which covers those)
WALL_CLOCK = {
    "@start_time",
    "@end_time",
    "@writer_pid",
    "@writer_process_start",
    "run/heartbeat",
    "bench/simulation/device@compiled",
    "@metadata_crc32",
}


def _env(no_jit: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "TSPCM_NO_JIT"}
    if no_jit:
        env["TSPCM_NO_JIT"] = "1"
    return env


def test_model_script_is_bit_identical_compiled_and_uncompiled(tmp_path):
    files = {}
    for no_jit in (False, True):
        files[no_jit] = tmp_path / f"no_jit_{int(no_jit)}.npz"
        subprocess.run(
            [sys.executable, "-W", "ignore", str(HERE / "jit_equality_child.py"), str(files[no_jit])],
            env=_env(no_jit),
            check=True,
            timeout=300,
        )
    compiled, plain = np.load(files[False]), np.load(files[True])
    assert bool(compiled["compiled"][0]) and not bool(plain["compiled"][0])  # the switch did switch
    assert set(compiled.files) == set(plain.files)
    assert int(compiled["train_fires"].sum()) > 0  # the train exercised firing, heating and the cascade
    for name in compiled.files:
        if name != "compiled":
            np.testing.assert_array_equal(compiled[name], plain[name], err_msg=name)


def _contents(path: Path) -> dict:
    """Every dataset's values and every attribute of a run file, by path."""
    out = {}
    with h5py.File(path, "r") as f:
        for k, v in f.attrs.items():
            out["@" + k] = v

        def visit(name, obj):
            for k, v in obj.attrs.items():
                out[f"{name}@{k}"] = v
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()]

        f.visititems(visit)
    return out


@pytest.mark.parametrize("procedure", ["iv-sweep"])
def test_run_files_are_identical_compiled_and_uncompiled(tmp_path, procedure):
    runs = {}
    for no_jit in (False, True):
        out_dir = tmp_path / f"no_jit_{int(no_jit)}"
        subprocess.run(
            [sys.executable, "-m", "tspcm_lab.cli", "run", procedure, "--sim", "--seed", "42", "-o", str(out_dir)],
            env=_env(no_jit),
            check=True,
            timeout=300,
            capture_output=True,
        )
        (path,) = out_dir.glob("*.h5")
        runs[no_jit] = _contents(path)
    compiled, plain = runs[False], runs[True]
    assert compiled["bench/simulation/device@compiled"] and not plain["bench/simulation/device@compiled"]
    assert set(compiled) == set(plain)
    compared = 0
    for key in sorted(set(compiled) - WALL_CLOCK):
        a, b = np.asarray(compiled[key]), np.asarray(plain[key])
        if a.dtype.kind == "f":
            np.testing.assert_array_equal(a, b, err_msg=key)
        elif a.dtype.kind == "O":  # variable-length strings
            assert a.tolist() == b.tolist(), key
        else:
            assert a.tobytes() == b.tobytes(), key
        compared += 1
    assert compared > 20


def test_one_cell_short_path_equals_the_general_path():
    """CellArray.apply's short path (one cell, a two-knot waveform, no windows or samples: an SMU reading)
    gives what the general path gives for the same call, bit for bit, reading after reading: the general
    path is forced by asking for the one window that the short path implies."""
    from sim_backend import experiments as ex
    from sim_backend.model import CellArray
    from sim_backend.waveform import Waveform

    short, general, reads = CellArray(shape=1, seed=5), CellArray(shape=1, seed=5), CellArray(shape=1, seed=5)
    calls = [  # SMU readings under and over the threshold, in compliance, current sourcing; a ramp first
        (Waveform.dc(0.2, 1.67e-4), dict(r_series_ohm=ex.R_SMU_OHM, ilimit_a=1e-3)),
        (Waveform.dc(2.5, 1e-3), dict(r_series_ohm=ex.R_SMU_OHM, ilimit_a=20e-6, c_node_f=ex.C_PROBE_F)),
        (Waveform.dc(0.3, 2e-2), dict(r_series_ohm=ex.R_SMU_OHM)),
        (Waveform.dc(5e-6, 1e-3), dict(source="current", vlimit_v=2.0, r_series_ohm=ex.R_SMU_OHM)),
        (Waveform.dc(0.1, 1.67e-4), dict(r_series_ohm=ex.R_SMU_OHM, ilimit_a=1e-3)),
    ]
    ramp = (Waveform(np.array([0.0, 1e-3]), np.array([0.0, 1.2])), dict(r_series_ohm=ex.R_SMU_OHM, ilimit_a=1e-4))
    fired = 0
    for repeat in range(3):
        for wave, kwargs in ([ramp] if repeat == 0 else []) + calls:
            a = short.apply(wave, np.array([0]), **kwargs)
            b = general.apply(wave, np.array([0]), windows_s=[[0.0, wave.duration_s]], **kwargs)
            for field in (
                "window_current_a",
                "window_source_v",
                "window_node_v",
                "window_compliance",
                "fires",
                "peak_temperature_k",
                "steps",
                "cells",
            ):
                np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
            fired += int(a.fires.sum())
            # CellArray.read_one, the bench's short path for a DC reading: the same reading, as floats
            if wave.volts_v[0] == wave.volts_v[1]:
                got = reads.read_one(wave.volts_v[0], wave.duration_s, **kwargs)
                assert got == (b.window_current_a[0, 0], b.window_source_v[0, 0], b.window_compliance[0, 0])
                assert type(got[0]) is float and type(got[2]) is bool
            else:
                reads.apply(wave, **kwargs)
            for model in (short, reads):
                np.testing.assert_array_equal(model.S, general.S)
                np.testing.assert_array_equal(model.rng, general.rng)
                assert model.t_s == general.t_s
    assert fired > 0 and (short.fire_count == general.fire_count).all()
    assert (reads.fire_count == general.fire_count).all()
    with pytest.raises(ValueError, match="ilimit_a"):
        short.apply(Waveform.dc(0.1, 1e-3), ilimit_a=-1.0)
    with pytest.raises(ValueError, match="cell indices"):
        short.apply(Waveform.dc(0.1, 1e-3), np.array([1]))
    with pytest.raises(ValueError, match="ilimit_a"):
        reads.read_one(0.1, 1e-3, ilimit_a=-1.0)
    with pytest.raises(ValueError, match="duration_s"):
        reads.read_one(0.1, 0.0)
    with pytest.raises(ValueError, match="duration_s"):  # as Waveform.dc: the duration checked first
        reads.read_one(float("nan"), -1.0)
    with pytest.raises(ValueError, match="level_v"):
        reads.read_one(float("inf"), 1e-3)
    with pytest.raises(ValueError, match="one-cell"):
        CellArray(shape=2, seed=5).read_one(0.1, 1e-3)


def test_a_bench_reading_takes_the_short_path_with_the_general_paths_numbers():
    """VirtualBench.measure on a one-cell bench with one output on (every SMU ``:READ?``) skips the general
    drive (:meth:`VirtualBench._drive`, waveform, Response): the same readings and the same model state as
    the general path, reading after reading, under and over threshold, in compliance, sourcing current, at
    0 V; with a second output on, the general path runs (and still agrees with itself)."""
    from sim_backend.bench import BenchConfig, VirtualBench

    fast, slow = (VirtualBench(BenchConfig(seed=3), with_instruments=False) for _ in range(2))
    general_drives = []  # calls of the general path on the bench that should not take it
    fast._drive = lambda *args, **kwargs: general_drives.append(args) or VirtualBench._drive(fast, *args, **kwargs)
    settings = [
        dict(level_v=0.2, ilimit_a=1e-3),
        dict(level_v=2.5, ilimit_a=20e-6),
        dict(level_v=0.0, ilimit_a=1e-3),
        dict(level_v=0.3, ilimit_a=None),
        dict(level_v=5e-6, mode="current", vlimit_v=2.0),
        dict(level_v=0.1, ilimit_a=1e-3, mode="voltage"),
    ]
    fired = 0
    for repeat in range(2):
        for kwargs in settings:
            for bench in (fast, slow):
                bench.set_source("smu", enabled=True, r_series_ohm=None, **kwargs)
            for duration_s in (1.67e-4, 2e-3):
                got = fast.measure("smu", duration_s)
                resp, _, _ = slow._drive({}, duration_s)  # the general path, as measure() took it before
                if resp is None:
                    want = (0.0, kwargs["level_v"], False)
                else:
                    want = (
                        float(resp.window_current_a[0, 0]),
                        float(resp.window_source_v[0, 0]),
                        bool(resp.window_compliance[0, 0]),
                    )
                    fired += int(resp.fires.sum())
                assert (got.current_a, got.voltage_v, got.compliance) == want, kwargs
                np.testing.assert_array_equal(fast.model.S, slow.model.S)
                np.testing.assert_array_equal(fast.model.rng, slow.model.rng)
                assert fast.model.t_s == slow.model.t_s
    assert fired > 0 and general_drives == []
    # two outputs on: not the short path; the reading is the general path's weighted one
    for bench in (fast, slow):
        bench.set_source("awg", enabled=True, level_v=0.05, r_series_ohm=50.0)
    got = fast.measure("smu", 1e-3)
    resp, weights, r_eq = slow._drive({}, 1e-3)
    assert got.current_a == float(slow._source_current("smu", resp, weights, r_eq)[0])
    assert len(general_drives) == 1
