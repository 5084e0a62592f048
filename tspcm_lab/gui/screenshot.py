"""The picture in docs/gui.md: the window after an iv-sweep on the simulated bench.

    xvfb-run -a python -m tspcm_lab.gui.screenshot docs/gui.png

(or with ``QT_QPA_PLATFORM=offscreen``: same picture, drawn without a display). Runs in a temporary
run folder; nothing else is written.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    target = argv[0] if argv else "gui.png"
    from tspcm_lab import plugins, runner
    from tspcm_lab.gui.app import application
    from tspcm_lab.gui.window import RunWindow

    app = application()
    target = os.path.abspath(target)
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)  # the run goes to <temporary>/runs, shown as "runs" in the picture
        session = runner.BenchSession.open("sim", seed=42)
        window = RunWindow(plugins.load_procedure("iv-sweep"), session, output_dir="runs", title="cell A1",
                           history=0)
        window.resize(1280, 820)
        window.show()
        window.inputs.polarity.setCurrentText("both")
        window.inputs.cycles.setValue(3)
        ended = []
        window.manager.finished.connect(ended.append)
        window.manager.failed.connect(ended.append)
        window.queue()
        deadline = time.monotonic() + 120
        while not ended and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.02)
        for _ in range(20):  # let the plot and the browser redraw
            app.processEvents()
            time.sleep(0.02)
        ok = window.grab().save(target, "PNG")
        window.close()
        os.chdir(here)
    print(target if ok else f"could not save {target}")
    return 0 if ok and ended else 1


if __name__ == "__main__":
    sys.exit(main())
