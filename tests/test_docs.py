"""Docs that cannot drift from the code: every file they name exists, the library's defaults they state
are the code's, and ``tspcm run --help`` lists every built-in bench."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: a file of the project named in a doc: a path ending in .md or .py (examples of a user's own files end
#: in .toml, .h5, .csv and are not checked)
REFERENCE = re.compile(r"(?<![\w/.<-])((?:[\w.-]+/)*[\w-]+\.(?:md|py))\b")


def tracked_files() -> set[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_every_file_the_docs_name_is_in_the_repository():
    tracked = tracked_files()
    names = {Path(t).name for t in tracked}
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    missing = []
    for doc in docs:
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), start=1):
            for reference in REFERENCE.findall(line):
                beside = (doc.parent / reference).resolve()
                known = (
                    reference in tracked
                    or reference in names
                    or (beside.is_relative_to(ROOT) and beside.relative_to(ROOT).as_posix() in tracked)
                )
                if not known:
                    missing.append(f"{doc.relative_to(ROOT)}:{number}: {reference}")
    assert missing == [], "docs name files that are not in the repository:\n" + "\n".join(missing)


def test_the_procedures_page_states_the_library_defaults():
    from instruments.units import format_quantity as q
    from procedures import library as lib

    program = lib.ProgramParametersMixin
    text = " ".join((ROOT / "docs" / "procedures.md").read_text(encoding="utf-8").split())
    for phrase in (
        f"`set_pulse` (default {q(lib.SET_AMPLITUDE_V, 'V')}, {q(lib.SET_WIDTH_S, 's')})",
        f"`reset_pulse` (default {q(lib.RESET_AMPLITUDE_V, 'V')}, {q(lib.RESET_WIDTH_S, 's')}, fastest fall)",
        f"`program_tolerance` {program.program_tolerance.default:g}, "
        f"`program_max_pulses` {program.program_max_pulses.default}, "
        f"SET {q(program.set_amplitude_V.default, 'V')} x {q(program.set_width_s.default, 's')}, "
        f"RESET {q(program.reset_amplitude_V.default, 'V')} x {q(program.reset_width_s.default, 's')}",
    ):
        assert phrase in text, phrase


def test_run_help_lists_every_built_in_bench():
    from tspcm_lab.benches import builtin_benches

    tspcm = Path(sys.executable).with_name("tspcm")
    out = subprocess.run(
        [str(tspcm), "run", "--help"], capture_output=True, text=True, timeout=120, env={"COLUMNS": "200", "PATH": ""}
    )
    assert out.returncode == 0, out.stderr
    listed = " ".join(out.stdout.split())
    assert "sim-4x4" in builtin_benches()
    assert f"a built-in name ({', '.join(builtin_benches())})" in listed
