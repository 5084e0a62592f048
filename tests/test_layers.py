"""Layers import one way: tspcm_lab (app) -> procedures -> procedures.library -> instruments -> PyVISA ->
sim_backend. Every ``import`` in the project's packages (also those inside functions and under
``TYPE_CHECKING``) is read with ``ast`` and checked against that direction; a procedure module may
import ``procedures.base`` and the library, never another procedure module nor the application."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("tspcm_lab", "procedures", "instruments", "sim_backend")

#: layer of a module (higher imports lower); procedure modules and procedures.base share one layer
APP, PROCEDURES, LIBRARY, INSTRUMENTS, SIMULATOR = "app", "procedures", "library", "instruments", "sim_backend"
#: what each layer may import from the project
ALLOWED = {
    APP: {APP, PROCEDURES, LIBRARY, INSTRUMENTS, SIMULATOR},  # the app also starts and serves the simulator
    PROCEDURES: {PROCEDURES, LIBRARY, INSTRUMENTS},
    LIBRARY: {LIBRARY, INSTRUMENTS},
    INSTRUMENTS: {INSTRUMENTS},  # the simulator is reached through PyVISA ('@tspcm'), never imported
    SIMULATOR: {SIMULATOR},
}


def layer(module: str) -> str | None:
    """The layer of a dotted module name of this project; None for anything else (third-party)."""
    top = module.split(".")[0]
    if top == "tspcm_lab":
        return APP
    if module == "procedures.library" or module.startswith("procedures.library."):
        return LIBRARY
    if top == "procedures":
        return PROCEDURES
    if top == "instruments":
        return INSTRUMENTS
    if top in ("sim_backend", "pyvisa_tspcm"):
        return SIMULATOR
    return None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[0] == "sim_backend" and len(parts) > 1 and parts[1] == "pyvisa_tspcm":
        parts = parts[1:]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_modules(source: str, importer: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``; ``from X import a`` also yields X.a
    (a submodule, or a name whose layer is X's)."""
    found: list[tuple[int, str]] = []
    package = importer if importer.count(".") == 0 else importer.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            found.append((node.lineno, base))
            found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names)
    return found


def is_procedure_module(module: str) -> bool:
    """procedures.<name> (one procedure each), not the base class module nor the library."""
    return layer(module) == PROCEDURES and module not in ("procedures", "procedures.base")


def violations(source: str, importer: str) -> list[str]:
    """Imports of ``source`` (module ``importer``) against the direction, as text."""
    mine = layer(importer)
    out: list[str] = []
    seen: set[int] = set()  # one report per import statement
    for line, target in imported_modules(source, importer):
        if line in seen:
            continue
        theirs = layer(target)
        if mine is None or theirs is None or target == importer:
            continue
        if theirs not in ALLOWED[mine]:
            out.append(f"{importer}:{line} imports {target} ({mine} -> {theirs})")
            seen.add(line)
        elif is_procedure_module(importer) and is_procedure_module(target) and target.split(".")[1] != "base":
            out.append(f"{importer}:{line} imports {target} (a procedure module imports another)")
            seen.add(line)
        elif importer == "procedures.base" and is_procedure_module(target):
            out.append(f"{importer}:{line} imports {target} (the base class imports a procedure)")
            seen.add(line)
    return out


def project_modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path, module_name(path)


def test_every_import_goes_down_the_layers():
    found = []
    for path, module in project_modules():
        found.extend(violations(path.read_text(encoding="utf-8"), module))
    assert found == [], "imports against the layer direction:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "importer, source",
    [
        ("procedures.retention", "from procedures.threshold_vs_weight import target_ladder"),
        ("procedures.pattern", "def f():\n    from procedures import learning_loop"),
        ("procedures.iv_sweep", "from tspcm_lab.analysis import switching"),
        (
            "procedures.base",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from tspcm_lab.bench import Bench",
        ),
        ("procedures.library.read", "from procedures.base import ParameterError"),
        ("procedures.library.spikes", "from procedures import spike_train"),
        ("instruments.smu", "import sim_backend.visa"),
        ("instruments.clock", "from procedures.library import errors"),
        ("sim_backend.visa", "from instruments.clock import Clock"),
        ("procedures.library.program", "from .. import spike_train"),
    ],
)
def test_the_check_catches_an_import_against_the_direction(importer, source):
    assert violations(source, importer)


@pytest.mark.parametrize(
    "importer, source",
    [
        ("procedures.retention", "from procedures import library as lib\nfrom procedures.base import TspcmProcedure"),
        ("procedures.library.program", "from procedures.library.pulses import set_pulse\nfrom . import read"),
        ("tspcm_lab.runner", "from procedures.library.errors import ParameterError\nimport pyvisa_tspcm"),
        ("instruments.bench", "import pyvisa\nfrom instruments.clock import Clock"),
    ],
)
def test_the_check_lets_imports_down_the_layers_pass(importer, source):
    assert violations(source, importer) == []
