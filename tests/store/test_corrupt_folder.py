"""A folder with damaged run files (a flipped bit in a text attribute and in a data chunk, a truncated
file, a zeroed page, and a crashed run truncated where HDF5 hangs): `tspcm runs`, `analyze` and
`repair` name each bad file and handle the good ones. checks/corrupt_files.py does the random version."""

import subprocess
import sys
from pathlib import Path

import h5py
import pytest

from tspcm_lab.analysis.examples import write_example_run
from tspcm_lab.cli import main
from tspcm_lab.store import open_run
from tspcm_lab.store.superblock import read_superblock

pytestmark = pytest.mark.slow

CHILD = Path(__file__).with_name("writer_child.py")
GOOD = ("iv-sweep", "pulse-train", "learning-loop")


def _flip(path: Path, offset: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0x10
    path.write_bytes(bytes(raw))


def _first_chunk(path: Path, dataset: str) -> int:
    with h5py.File(path, "r") as f:
        return f[dataset].id.get_chunk_info(0).byte_offset


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("corrupt")
    for k, procedure in enumerate(GOOD):
        write_example_run(root / f"good-{procedure}.h5", procedure, seed=k)
    src = root / "good-iv-sweep.h5"
    column = "data/" + sorted(h5py.File(src, "r")["data"])[0]
    damaged = {}
    for kind in ("text", "data", "truncated", "zeroed"):
        path = root / f"bad-{kind}.h5"
        path.write_bytes(src.read_bytes())
        damaged[kind] = path
    raw = src.read_bytes()
    _flip(damaged["text"], raw.index(b"iv-sweep", raw.index(b"iv-sweep") + 1))  # a string in the global heap
    _flip(damaged["data"], _first_chunk(src, column) + 100)
    damaged["truncated"].write_bytes(raw[: len(raw) * 3 // 5])
    zeroed = bytearray(raw)
    start = _first_chunk(src, column) // 4096 * 4096
    zeroed[start : start + 4096] = bytes(4096)
    damaged["zeroed"].write_bytes(bytes(zeroed))
    crashed = root / "crashed.h5"  # a writer killed mid-run, then cut at its stale end-of-file address
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(crashed), "crash"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "flushed 250"
    proc.kill()
    proc.wait()
    damaged["hangs"] = root / "bad-hangs.h5"
    damaged["hangs"].write_bytes(crashed.read_bytes()[: read_superblock(crashed).eoa])
    crashed.unlink()
    return root, damaged


@pytest.fixture
def short_deadlines(monkeypatch):
    from tspcm_lab.analysis import batch
    from tspcm_lab.commands import store_repair, store_runs

    monkeypatch.setattr(store_runs, "READ_TIMEOUT_S", 5.0)
    monkeypatch.setattr(batch, "ANALYZE_TIMEOUT_S", 5.0)
    monkeypatch.setattr(store_repair, "REPAIR_TIMEOUT_S", 5.0)


def test_the_damage_is_found_by_name(folder):
    _, damaged = folder
    with pytest.raises(Exception, match="metadata .* is damaged: checksum metadata_crc32 does not match"):
        open_run(damaged["text"])
    with pytest.raises(Exception, match=r"/data/\w+ is damaged \(its Fletcher-32 checksum does not match"):
        open_run(damaged["data"]).columns


def test_runs_lists_the_good_and_names_the_bad(folder, short_deadlines, capsys):
    root, damaged = folder
    assert main(["runs", str(root)]) == 0
    out = capsys.readouterr().out
    for procedure in GOOD:
        assert f"good-{procedure}.h5" in out
    assert out.count("completed") >= len(GOOD)
    for kind in ("text", "truncated"):
        assert f"{damaged[kind]}: " in out  # the reason, by name


def test_analyze_names_each_bad_file_and_analyses_the_rest(folder, short_deadlines, capsys):
    root, damaged = folder
    assert main(["analyze", str(root), "--no-write", "--quiet", "--workers", "2"]) == 1
    captured = capsys.readouterr()
    assert f"analyzed {len(GOOD)} of {len(GOOD) + len(damaged)} files" in captured.out
    failed = [line for line in captured.err.splitlines() if line.startswith("tspcm analyze: failed:")]
    assert len(failed) == len(damaged)
    for kind, path in damaged.items():
        assert any(str(path.resolve()) in line for line in failed), kind
    assert any("bad-hangs.h5: no answer after 5 s (the HDF5 library hung on it)" in line for line in failed)


def test_repair_names_each_bad_file_and_leaves_the_good_alone(folder, short_deadlines, capsys, tmp_path):
    root, damaged = folder
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in root.glob("*.h5"):
        (copy / path.name).write_bytes(path.read_bytes())
    assert main(["repair", str(copy)]) == 1
    captured = capsys.readouterr()
    text = captured.out + captured.err
    for procedure in GOOD:
        assert f"good-{procedure}.h5: nothing to repair" in text
    assert "bad-data.h5: partly repaired" in text and "bad-zeroed.h5: partly repaired" in text
    assert "bad-text.h5: partly repaired" in text and "metadata: checksum" in text
    assert "bad-truncated.h5: not a readable HDF5 file (truncated file" in captured.err
    assert "bad-hangs.h5: no answer after 5 s" in captured.err and "left as it was" in captured.err
    assert not [p.name for p in copy.iterdir() if p.name.startswith(".")]  # no temporary files left
