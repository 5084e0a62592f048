"""The pictures in docs/gui/: each procedure's window after a run on the simulated bench, on a real X
server (Xvfb) at 1366 x 768 and 1920 x 1080.

    python -m tspcm_lab.gui.screenshot docs/gui          # every procedure, both sizes (needs xvfb-run)
    python -m tspcm_lab.gui.screenshot docs/gui --size 1366x768 --only iv-sweep   # on the current display

Without ``--size`` the script starts itself once per size under ``xvfb-run`` (a screen of exactly that
size: the window sizes itself to the screen as it does at the probe station). Each run goes to a
temporary run folder, shown as ``runs``; nothing else is written. The parameters are short versions
of the demo campaign's (data/campaigns/demo.toml), so each picture shows what the procedure measures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

SIZES = ("1366x768", "1920x1080")
#: procedure -> (bench, parameters typed into the window, the analysis feature the panel should show)
RUNS: dict[str, tuple[str, dict[str, str]]] = {
    "iv-sweep": ("sim", {"polarity": "both", "cycles": "4", "compliance_A": "10 uA"}),
    "pulse-train": ("sim", {"cycles": "2"}),
    "threshold-vs-weight": ("sim", {"states": "5", "repeats": "2"}),
    "spike-train": ("sim", {"target_conductances_S": "1e-6, 3e-6, 20e-6", "trains": "4", "spike_amplitude_V": "1.3 V"}),
    "learning-loop": ("sim", {}),
    "delay-recovery": ("sim", {"delay_repeats": "4", "recovery_repeats": "4"}),
    "retention": ("sim", {"states": "3", "reads": "16"}),
    "endurance": ("sim", {"cycles": "100", "read_every": "5"}),
    "pattern": ("sim-4x4", {}),
}
SEED = 42
RUN_DEADLINE_S = 300


def set_input(window, key: str, text: str) -> None:
    widget = getattr(window.inputs, key)
    if hasattr(widget, "setCurrentText") and not hasattr(widget, "setText"):
        widget.setCurrentText(text)
    else:
        widget.setText(text)
        if hasattr(widget, "check"):
            widget.check()


def shoot(procedure: str, folder: str, size: str, app) -> str:
    """Run ``procedure`` in its window on this display and save the window as PNG; the path."""
    from tspcm_lab import plugins, runner
    from tspcm_lab.gui.window import RunWindow

    bench, values = RUNS.get(procedure, ("sim", {}))
    session = runner.BenchSession.open(bench, seed=SEED)
    window = RunWindow(
        plugins.load_procedure(procedure), session, output_dir="runs", title=f"{procedure}, demo cell", history=0
    )
    window.showMaximized()
    for key, text in values.items():
        set_input(window, key, text)
    ended = []
    window.manager.finished.connect(ended.append)
    window.manager.failed.connect(ended.append)
    window.manager.abort_returned.connect(ended.append)
    if window.queue() is None:
        raise RuntimeError(f"{procedure}: not queued: {window.refusal_text}")
    deadline = time.monotonic() + RUN_DEADLINE_S
    while not ended and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)
    panel_deadline = time.monotonic() + 60
    while window.analysis_panel.result is None and time.monotonic() < panel_deadline:
        app.processEvents()
        time.sleep(0.02)
    for _ in range(40):  # the views, the browser and the analysis settle
        app.processEvents()
        time.sleep(0.02)
    path = os.path.join(folder, f"{procedure}-{size}.png")
    ok = window.grab().save(path, "PNG")
    window.shut_down()
    window.close()
    if not (ok and ended):
        raise RuntimeError(f"{procedure}: no picture (run ended: {bool(ended)})")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tspcm_lab.gui.screenshot", description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", default="docs/gui", help="where the PNG files go (default docs/gui)")
    parser.add_argument("--size", choices=SIZES, help="one size, on the current display (else: each under xvfb-run)")
    parser.add_argument("--only", action="append", metavar="PROCEDURE", help="only these procedures")
    args = parser.parse_args(argv)
    folder = os.path.abspath(args.folder)
    os.makedirs(folder, exist_ok=True)
    if args.size is None:
        if shutil.which("xvfb-run") is None:
            print("xvfb-run is missing (bash .ci/setup installs xvfb)", file=sys.stderr)
            return 1
        code = 0
        for size in SIZES:
            env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}  # a real X server: xcb
            command = [
                "xvfb-run",
                "-a",
                "-s",
                f"-screen 0 {size}x24",
                sys.executable,
                "-m",
                "tspcm_lab.gui.screenshot",
                folder,
                "--size",
                size,
            ]
            for name in args.only or []:
                command += ["--only", name]
            code |= subprocess.run(command, env=env).returncode
        return code
    from tspcm_lab import plugins
    from tspcm_lab.gui.app import application

    app = application()
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)  # runs go to <temporary>/runs, shown as "runs"
        try:
            for procedure in args.only or plugins.names():
                print(shoot(procedure, folder, args.size, app), flush=True)
        finally:
            os.chdir(here)
    return 0


if __name__ == "__main__":
    sys.exit(main())
