"""Starting the GUI: a Qt application, the bench opened once, the procedure's window.

Used by ``tspcm gui`` (see :mod:`tspcm_lab.commands.gui`); the order keeps a cell safe: the procedure
is known and the bench file valid before any instrument is opened, the bench is opened (every output
off) before the window appears, and closing the window turns every output off and closes the bench.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass


class GuiStartError(Exception):
    """The GUI cannot start; ``code`` is the exit code (2: bad input, 1: otherwise)."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def display_problem() -> str | None:
    """Why Qt could not open a window here, or None. (Qt aborts the process without a display.)"""
    if sys.platform.startswith("linux") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")):
        return ("no display: start it from the probe-station PC's desktop session, over ssh -X, or "
                "under xvfb-run (QT_QPA_PLATFORM=offscreen runs it without showing anything)")
    return None


@dataclass
class GuiOptions:
    procedure: str | None = None  #: registered name; None = choose in a dialog
    bench: str = "sim"  #: bench file or built-in name
    seed: int | None = None
    sim_options: str = ""
    output: str = "runs"
    title: str = ""
    history: int = 10


def application():
    """The QApplication (created once)."""
    from pymeasure.display.Qt import QtWidgets

    app = QtWidgets.QApplication.instance()
    if app is None:
        app = QtWidgets.QApplication([sys.argv[0] if sys.argv else "tspcm", "-name", "tspcm"])
        app.setApplicationName("tspcm gui")
    return app


def start(options: GuiOptions):
    """Choose (if needed) and load the procedure, open the bench, build and show the window.
    Returns (app, window). Raises GuiStartError with one line."""
    problem = display_problem()
    if problem:
        raise GuiStartError(problem, 1)
    from tspcm_lab import plugins, runner
    from tspcm_lab.bench import BenchConfigError, BenchOpenError, load_bench_config

    app = application()
    name = options.procedure
    if name is None:
        from tspcm_lab.gui.dialogs import choose_procedure

        name = choose_procedure()
        if name is None:
            raise GuiStartError("no procedure chosen", 1)
    try:
        cls = plugins.load_procedure(name)
    except plugins.ProcedureLookupError as exc:
        raise GuiStartError(str(exc), 2) from None
    try:
        load_bench_config(options.bench, require=getattr(cls, "REQUIRED_ROLES", ()))
        session = runner.BenchSession.open(options.bench, seed=options.seed, sim_options=options.sim_options,
                                           require=getattr(cls, "REQUIRED_ROLES", ()))
    except BenchConfigError as exc:
        raise GuiStartError(str(exc).replace("\n", "; "), 2) from None
    except BenchOpenError as exc:
        raise GuiStartError(f"cannot open the bench: {exc}", 1) from None
    except ValueError as exc:
        raise GuiStartError(str(exc), 2) from None
    from tspcm_lab.gui.window import RunWindow

    try:
        window = RunWindow(cls, session, output_dir=options.output, title=options.title,
                           history=options.history)
    except Exception:
        session.close()
        raise
    window.show()
    settle_memory()
    return app, window


def settle_memory() -> None:
    """Collect once, then exempt everything made so far from the garbage collector's full passes
    (``gc.freeze``): a full pass over the startup objects (Qt, pyqtgraph, pandas, the bench) took
    ~170 ms, an event loop blocked for that long while a run streams in. Objects made later are
    still collected."""
    import gc

    gc.collect()
    gc.freeze()


def run(options: GuiOptions) -> int:
    """Start the GUI and run Qt's event loop until the window is closed; the exit code."""
    app, window = start(options)
    try:
        code = app.exec()
    finally:
        window.shut_down()  # already done by closing the window; also covers a killed event loop
    return int(code)
