"""Damage run files the ways disks and copies do, and check that every folder command names each bad
file and handles the rest.

    python checks/corrupt_files.py [--variants 12] [--seed 1] [--keep DIR]

Makes real run files with ``tspcm run`` on the simulated bench (iv-sweep, endurance, retention, pattern
on the 4x4 array, and an endurance run killed with SIGKILL mid-run), then ``--variants`` damaged copies of
each, of four kinds: a flipped bit in metadata (anywhere outside the data chunks), a flipped bit inside a
data chunk, the file truncated at a random length, a 4 KiB page zeroed. One more copy of the killed run is
truncated right at the end-of-file address its superblock still holds (HDF5 hangs reading that one).

Then, on the folder of good and damaged files together:

1. per file, in a child process with a deadline, the store's reader reads everything (summary, every
   column, waveforms, log) and the result is compared with the undamaged original: ``named`` (an error
   naming the file, and the object where HDF5 tells it), ``intact`` (the damage hit nothing that is read),
   ``SILENT`` (different numbers read without an error: must never happen), ``HANG``, ``CRASH``;
2. ``tspcm runs``, ``tspcm analyze`` and ``tspcm repair`` on the whole folder: each must finish, list or
   analyse or leave alone every good file, and name every file it could not handle.

Prints the table of outcomes per kind of damage and each command's figures. Exit code 1 if anything was
silently different, a command failed on a good file, or a bad file went unnamed.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TSPCM = Path(sys.executable).with_name("tspcm")

GOOD = {
    "iv-sweep": ["--sim", "--set", "cycles=2"],
    "endurance": ["--sim", "--set", "cycles=40", "--set", "read_every=1"],
    "retention": ["--sim"],
    "pattern": ["--bench", "sim-4x4"],
}

#: reads everything of one run file through the store and prints a digest (runs in a child process)
PROBE = r"""
import hashlib, json, sys
import numpy as np
from tspcm_lab.store.reader import read_run, summarize
path = sys.argv[1]
summary = summarize(path)
if summary["status"] == "unreadable":
    print(json.dumps({"error": summary["error"]})); sys.exit(0)
try:
    run = read_run(path)
    h = hashlib.sha1()
    for label in sorted(run.columns):
        h.update(np.ascontiguousarray(run.columns[label]).tobytes())
    for name in sorted(run.waveforms):
        for w in run.waveforms[name]:
            h.update(np.ascontiguousarray(w.y).tobytes())
    for record in run.log:
        h.update(record["message"].encode())
    h.update(json.dumps(run.parameter_values, default=str, sort_keys=True).encode())
    h.update(json.dumps(run.bench, default=str, sort_keys=True).encode())
    h.update(json.dumps({k: v for k, v in run.attrs.items() if k not in ("status",)}, default=str,
                        sort_keys=True).encode())
    print(json.dumps({"digest": h.hexdigest(), "status": summary["status"]}))
except Exception as exc:
    print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
"""


def make_good(folder: Path) -> dict[str, Path]:
    """The undamaged run files (and one left by a killed writer)."""
    made = {}
    for name, extra in GOOD.items():
        path = folder / f"{name}.h5"
        subprocess.run(
            [str(TSPCM), "run", name, "--seed", "3", "-o", str(path)] + extra,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=600,
        )
        made[name] = path
    path = folder / "killed.h5"
    proc = subprocess.Popen(
        [
            str(TSPCM),
            "run",
            "endurance",
            "--sim",
            "--seed",
            "4",
            "-o",
            str(path),
            "--set",
            "cycles=1000000",
            "--set",
            "read_every=1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    from tspcm_lab.store import open_run

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if open_run(path).n_rows >= 30:
                break
        except Exception:  # noqa: BLE001 - not there yet
            pass
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    made["killed"] = path
    return made


def data_regions(path: Path) -> list[tuple[int, int]]:
    """(start, end) byte ranges of every chunk of every chunked dataset."""
    import h5py

    regions = []
    try:
        f = h5py.File(path, "r")
    except OSError:
        f = h5py.File(path, "r", swmr=True)
    with f:

        def visit(_name, obj):
            if isinstance(obj, h5py.Dataset) and obj.chunks:
                for i in range(obj.id.get_num_chunks()):
                    info = obj.id.get_chunk_info(i)
                    regions.append((info.byte_offset, info.byte_offset + info.size))

        f.visititems(visit)
    return sorted(regions)


def damage(src: Path, dst: Path, kind: str, rng: random.Random, regions) -> None:
    raw = bytearray(src.read_bytes())
    size = len(raw)
    if kind == "flip-metadata":
        while True:
            offset = rng.randrange(size)
            if not any(a <= offset < b for a, b in regions):
                break
        raw[offset] ^= 1 << rng.randrange(8)
    elif kind == "flip-data":
        a, b = rng.choice(regions)
        raw[rng.randrange(a, b)] ^= 1 << rng.randrange(8)
    elif kind == "truncate":
        raw = raw[: rng.randrange(size)]
    else:  # zero-page
        offset = rng.randrange(0, size, 4096)
        raw[offset : offset + 4096] = bytes(len(raw[offset : offset + 4096]))
    dst.write_bytes(bytes(raw))


def probe(path: Path, timeout_s: float) -> dict:
    try:
        out = subprocess.run(
            [sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        return {"outcome": "HANG"}
    if out.returncode != 0:
        return {"outcome": f"CRASH (exit {out.returncode})"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=12, help="damaged copies per run file (default 12)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--timeout",
        type=float,
        default=15.0,
        help="seconds a read may take before it counts as hung (here and for the commands)",
    )
    parser.add_argument("--keep", metavar="DIR", help="keep the files in DIR")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="tspcm-corrupt-"))
    folder.mkdir(parents=True, exist_ok=True)
    originals_dir = folder / "originals"
    originals_dir.mkdir(exist_ok=True)
    runs = folder / "runs"
    runs.mkdir(exist_ok=True)
    originals = make_good(originals_dir)
    kinds = ("flip-metadata", "flip-data", "truncate", "zero-page")
    expected: dict[str, dict] = {}
    damaged: dict[str, tuple[str, str]] = {}  # file name -> (kind, original name)
    for name, src in originals.items():
        regions = data_regions(src)
        expected[name] = probe(src, args.timeout)
        if name != "killed":
            shutil.copy2(src, runs / src.name)
        for k in range(args.variants):
            kind = kinds[k % len(kinds)]
            dst = runs / f"{name}-{k:02d}-{kind}.h5"
            damage(src, dst, kind, rng, regions)
            damaged[dst.name] = (kind, name)
    from tspcm_lab.store.superblock import read_superblock

    stale = read_superblock(originals["killed"]).eoa
    (runs / "killed-at-stale-eoa-truncate.h5").write_bytes(originals["killed"].read_bytes()[:stale])
    damaged["killed-at-stale-eoa-truncate.h5"] = ("truncate", "killed")

    # 1. what a reader gets from each damaged file
    table: dict[str, dict[str, int]] = {kind: {} for kind in kinds}
    problems = []
    for file_name, (kind, original) in sorted(damaged.items()):
        got = probe(runs / file_name, args.timeout)
        if "outcome" in got:
            outcome = got["outcome"]
        elif "error" in got:
            outcome = "named"
        elif got["digest"] == expected[original].get("digest"):
            outcome = "intact"
        else:
            outcome = "SILENT"
            problems.append(f"{file_name}: read without an error but different from the original")
        if outcome not in ("named", "intact"):
            print(f"  {file_name}: {outcome}")
        table[kind][outcome] = table[kind].get(outcome, 0) + 1
    outcomes = sorted({o for row in table.values() for o in row})
    print(f"reading each damaged file through the store ({len(damaged)} files):")
    print(f"{'damage':15s} " + " ".join(f"{o:>8s}" for o in outcomes))
    for kind, row in table.items():
        print(f"{kind:15s} " + " ".join(f"{row.get(o, 0):8d}" for o in outcomes))

    # 2. the folder commands (in this process, with the same deadline per file)
    from tspcm_lab.analysis import batch
    from tspcm_lab.cli import main as tspcm
    from tspcm_lab.commands import store_repair, store_runs

    store_runs.READ_TIMEOUT_S = batch.ANALYZE_TIMEOUT_S = store_repair.REPAIR_TIMEOUT_S = args.timeout
    goods = sorted(p.name for p in originals.values() if (runs / p.name).exists())
    every = sorted(p.name for p in runs.glob("*.h5"))
    for command in (["runs", str(runs)], ["analyze", str(runs), "--workers", "2", "--quiet"], ["repair", str(runs)]):
        started = time.monotonic()
        code, stdout, stderr = _capture(lambda: tspcm(command))
        seconds = time.monotonic() - started
        lines = (stdout + stderr).splitlines()
        line_of = {name: [ln for ln in lines if f"{name} " in ln + " " or f"{name}:" in ln] for name in every}
        missing = [name for name, found in line_of.items() if not found]
        if command[0] == "runs":
            bad_good = [g for g in goods if any("unreadable" in ln for ln in line_of[g])]
            unreadable = sum(any("unreadable" in ln or ": " in ln for ln in line_of[n]) for n in damaged)
            figures = (
                f"{len(every) - len(missing)} of {len(every)} files listed, {unreadable} damaged ones named unreadable"
            )
        elif command[0] == "analyze":
            failed_lines = [ln for ln in stderr.splitlines() if ln.startswith("tspcm analyze: failed:")]
            bad_good = [g for g in goods if any(f"/{g}:" in ln for ln in failed_lines)]
            figures = [ln for ln in stdout.splitlines() if ln.startswith("analyzed")][-1]
            missing = [n for n in damaged if not any(n in ln for ln in lines)]
        else:
            counts = {"nothing to repair": 0, "partly repaired": 0, "repaired": 0, "error": 0}
            for line in lines:
                for key in counts:
                    if key in line:
                        counts[key] += 1
                        break
            bad_good = [g for g in goods if not any("nothing to repair" in ln for ln in line_of[g])]
            figures = ", ".join(f"{v} {k}" for k, v in counts.items())
        print(
            f"\ntspcm {command[0]}: exit {code} in {seconds:.0f} s: {figures}; files not named: {len(missing)}; "
            f"good files it failed on: {len(bad_good)}"
        )
        if missing:
            problems.append(f"{command[0]} did not name {missing}")
        if bad_good:
            problems.append(f"{command[0]} failed on good files {bad_good}")
    print(
        "\n"
        + (
            "FAIL: " + "; ".join(problems)
            if problems
            else "ok: every damaged file named or intact, no command failed on a good file"
        )
    )
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 1 if problems else 0


def _capture(fn):
    """(return value, stdout, stderr) of ``fn`` with stdout/stderr captured."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = fn()
    return code, out.getvalue(), err.getvalue()


if __name__ == "__main__":
    sys.exit(main())
