"""Starting the GUI: a Qt application, the bench opened once, the procedure's window.

Used by ``tspcm gui`` (see :mod:`tspcm_lab.commands.gui`); the order keeps a cell safe: the procedure
is known and the bench file valid before any instrument is opened, the bench is opened (every output
off) before the window appears, and closing the window turns every output off and closes the bench.

A simulated bench runs in its own process (``tspcm sim serve``, started here and ended when the window
closes, see :mod:`tspcm_lab.served`), reached over TCP like LAN instruments: the device model then never
holds this process's interpreter lock, which the Qt event loop needs (in-process, a 1e5-point run
blocked the window for 300-400 ms at a time).
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


#: Debian packages of the libraries Qt's X11 (xcb) platform plugin loads (what .ci/setup installs)
XCB_PACKAGES = (
    "libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-xinerama0 "
    "libxcb-xkb1 libxkbcommon-x11-0 libxcb-shape0 libxcb-xfixes0"
)


def display_problem() -> str | None:
    """Why Qt could not open a window here, in one line, or None. Qt itself aborts the process
    ("could not load the Qt platform plugin xcb", exit code 134) without a display, without the X11
    libraries its xcb plugin needs, or with an X server it cannot reach; this finds each first."""
    if not sys.platform.startswith("linux"):
        return None
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or platform):
        return (
            "no display: start it from the probe-station PC's desktop session, over ssh -X, or "
            "under xvfb-run (QT_QPA_PLATFORM=offscreen runs it without showing anything)"
        )
    if platform not in ("", "xcb") or not os.environ.get("DISPLAY"):
        return None
    return xcb_problem(os.environ["DISPLAY"])


def xcb_problem(display: str) -> str | None:
    """Can Qt's xcb plugin load here (every library it links), and is the X display reachable?"""
    import ctypes
    import ctypes.util

    plugin = _xcb_plugin()
    if plugin is not None:
        try:
            ctypes.CDLL(plugin)
        except OSError as exc:
            reason = str(exc).split(": ", 1)[-1] if str(exc).startswith("/") else str(exc)
            return (
                f"Qt cannot use the X display {display}: its xcb plugin does not load ({reason}); "
                f"install Qt's X11 libraries (bash .ci/setup, or apt-get install {XCB_PACKAGES})"
            )
    name = ctypes.util.find_library("xcb")
    if name is None:
        return f"Qt cannot use the X display {display}: libxcb is missing (apt-get install libxcb1)"
    xcb = ctypes.CDLL(name)
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)
    try:
        if xcb.xcb_connection_has_error(connection):
            return (
                f"cannot connect to the X display {display}: is the X server running and may this user "
                f"use it (ssh -X, xauth)? Or run under xvfb-run"
            )
    finally:
        xcb.xcb_disconnect(connection)
    return None


def _xcb_plugin() -> str | None:
    """The path of Qt's xcb platform plugin (libqxcb.so), or None when it cannot be found."""
    folders = [os.environ.get("QT_QPA_PLATFORM_PLUGIN_PATH", "")]
    try:
        from PyQt5.QtCore import QLibraryInfo

        folders.append(os.path.join(QLibraryInfo.location(QLibraryInfo.PluginsPath), "platforms"))
    except ImportError:
        pass
    for folder in folders:
        path = os.path.join(folder, "libqxcb.so") if folder else ""
        if path and os.path.exists(path):
            return path
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
        session = runner.BenchSession.open(
            options.bench,
            seed=options.seed,
            sim_options=options.sim_options,
            require=getattr(cls, "REQUIRED_ROLES", ()),
            own_process=True,
        )
    except BenchConfigError as exc:
        raise GuiStartError(str(exc).replace("\n", "; "), 2) from None
    except BenchOpenError as exc:
        raise GuiStartError(f"cannot open the bench: {exc}", 1) from None
    except ValueError as exc:
        raise GuiStartError(str(exc), 2) from None
    note = ""
    if options.bench == "sim" and defaults_refused(cls, session):
        session, note = _other_simulated_bench(cls, session, options)
    from tspcm_lab.gui.window import RunWindow

    try:
        window = RunWindow(cls, session, output_dir=options.output, title=options.title, history=options.history)
    except Exception:
        session.close()
        raise
    if note:
        window.statusBar().showMessage(note)
        window.log.info(note)
    window.show()
    settle_memory()
    return app, window


#: built-in simulated benches tried when the default one cannot run a procedure (e.g. pattern: an array)
OTHER_SIMULATED_BENCHES = ("sim-4x4",)


def defaults_refused(procedure_class: type, session) -> str:
    """Why the procedure with its default parameters cannot run on this bench ("" if it can)."""
    from tspcm_lab import runner

    try:
        procedure = runner.build_procedure(procedure_class, {}, session)
        runner.validate(procedure)
    except Exception as exc:  # noqa: BLE001 - any refusal counts
        return runner.parameter_error_text(exc)
    return ""


def _other_simulated_bench(procedure_class: type, session, options: GuiOptions):
    """A built-in simulated bench the procedure's defaults run on (the pattern needs the 4x4 array),
    instead of a window that could never queue; (session, note for the user)."""
    from tspcm_lab import runner

    refused = defaults_refused(procedure_class, session)
    for name in OTHER_SIMULATED_BENCHES:
        other = runner.BenchSession.open(
            name,
            seed=options.seed,
            sim_options=options.sim_options,
            require=getattr(procedure_class, "REQUIRED_ROLES", ()),
            own_process=True,
        )
        if not defaults_refused(procedure_class, other):
            session.close()
            return other, (
                f"using the built-in simulated bench {name}: the default one refuses "
                f"{getattr(procedure_class, 'name', '')} ({refused})"
            )
        other.close()
    return session, f"this bench refuses the default parameters: {refused}"


def settle_memory() -> None:
    """Collect once, then exempt everything made so far from the garbage collector's full passes
    (``gc.freeze``): a full pass over the startup objects (Qt, pyqtgraph, pandas, the bench) took
    ~170 ms, and one over what a first run loads (the simulated model's compiled kernels) ~200 ms --
    an event loop blocked that long while a run streams in. Called when the window is up and after
    each run; objects made later are still collected."""
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
