"""The window follows a large run while it streams in: during a 1e5-point simulated I-V run the views
redraw the growing run (not a window that skipped its work), and the run completes with every row.

What keeps the event loop free is asserted as architecture: as ``tspcm gui`` has it, the simulated bench
runs in its own process (``tspcm sim serve``), reached over TCP with pyvisa-py, its virtual clock
included; no simulated bench is built in the GUI's process, so the device model never holds the
interpreter lock the Qt event loop needs.

How responsive the window stays is a speed figure, measured by ``benchmarks/bench_gui.py`` (which runs
this test with output shown) and never asserted here: the test prints the lateness of a 10 ms Qt timer in
the GUI thread, the GUI thread's own CPU time in the worst gap (``time.thread_time``: it does not advance
while the thread waits for the GIL or a CPU), a redraw's CPU time, the longest garbage collection and the
CPU time of drawing the whole run from scratch (best of three). The issue's bound is 100 ms of lateness.
"""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from pymeasure.display.Qt import QtCore

from tspcm_lab import plugins
from tspcm_lab.store import open_run

#: the issue's bound on how long the event loop may be blocked (s)
MAX_BLOCKED_S = 0.100
TICK_MS = 10
#: the baseline: a process of its own that only waits 10 ms at a time (select on its stdin, which closes
#: at the end) and records each wake-up (time.perf_counter is the system's monotonic clock, shared by
#: processes): its lateness is what the machine's load alone does to a 10 ms timer, in the same run
BASELINE_PROBE = r"""
import json, select, sys, time
ticks = [time.perf_counter()]
while not select.select([sys.stdin], [], [], %f)[0]:
    ticks.append(time.perf_counter())
print(json.dumps(ticks))
""" % (TICK_MS / 1e3)


#: where the simulated bench runs: in its own process, as ``tspcm gui`` has it; benchmarks/bench_gui.py also
#: asks (BENCH_GUI_BASELINE=1) for the same run with the bench in the GUI's process, the baseline it
#: compares with in the same run
BENCH_PLACES = ["own process"] + (["in-process"] if os.environ.get("BENCH_GUI_BASELINE") else [])


@pytest.mark.slow
@pytest.mark.parametrize("place", BENCH_PLACES)
def test_the_views_follow_a_1e5_point_run_and_the_lateness_is_reported(qtbot, open_window, place):
    from sim_backend import visa
    from tspcm_lab.served import ServedClock

    hosts_before = set(visa._HOSTS)  # benches of earlier tests in this process (a spec may recur)
    window = open_window(plugins.load_procedure("iv-sweep"), seed=31, own_process=place == "own process")
    session = window.session
    if place == "in-process":
        _follow_the_run(qtbot, window, place)
        return
    # the bench is another process, reached over TCP by pyvisa-py; its virtual clock too
    assert session.served is not None and session.served.pid != os.getpid()
    assert session.served.process.poll() is None
    for role in session.bench.roles.values():
        connection = role.driver.adapter.connection
        assert type(connection.visalib).__name__ != "TspcmVisaLibrary"
        assert connection.resource_name.startswith("TCPIP0::127.0.0.1::")
    assert isinstance(session.bench.clock, ServedClock)
    stored = _follow_the_run(qtbot, window, place)
    # no simulated bench was built in this process, neither by the window nor for the runs: the model ran in
    # the bench's process (earlier tests' benches may close meanwhile, when the event loop tears their windows down)
    assert not set(visa._HOSTS) - hosts_before
    assert stored.bench["simulation"]["process"].startswith("own")


def _follow_the_run(qtbot, window, place: str):
    """Run 1e5 points in ``window``, check the views followed, print the figures; returns the run file."""
    window.inputs.cycles.setText("1")  # a first run loads what a session loads once (the model's kernels)
    with qtbot.waitSignal(window.manager.finished, timeout=300_000):
        qtbot.mouseClick(window.queue_button, QtCore.Qt.MouseButton.LeftButton)
    for key, text in (("cycles", "50"), ("step_V", "2.5 mV")):  # 50 cycles x 2001 points
        window.inputs.__getattribute__(key).setText(text)
    ticks: list[float] = []
    timer = QtCore.QTimer()
    timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
    timer.timeout.connect(lambda: ticks.append((time.perf_counter(), time.thread_time(), time.process_time())))
    seen_rows: list[int] = []
    views = window.views
    original = views.refresh

    refresh_cpu: list[float] = []

    def counting_refresh(run, force=False):
        start = time.thread_time()
        original(run, force)
        refresh_cpu.append(time.thread_time() - start)
        seen_rows.append(run.n_rows)

    views.refresh = counting_refresh
    import gc

    gc_pauses, gc_start = [], []

    def on_gc(phase, info):
        if phase == "start":
            gc_start.append(time.perf_counter())
        elif gc_start:
            gc_pauses.append(time.perf_counter() - gc_start.pop())

    gc.callbacks.append(on_gc)
    from tspcm_lab.gui.app import settle_memory

    settle_memory()  # as `tspcm gui` does once its window is up (and the earlier tests' garbage goes)
    running = []
    window.manager.running.connect(lambda e: running.append(time.perf_counter()))
    probe = subprocess.Popen(
        [sys.executable, "-c", BASELINE_PROBE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    timer.start(TICK_MS)
    try:
        with qtbot.waitSignal(window.manager.finished, timeout=300_000) as blocker:
            qtbot.mouseClick(window.queue_button, QtCore.Qt.MouseButton.LeftButton)
    finally:
        end = time.perf_counter()
        timer.stop()
        baseline_ticks, _ = probe.communicate(timeout=60)
    gc.callbacks.remove(on_gc)
    views.refresh = original

    path = blocker.args[0].data_filename
    stored = open_run(path)
    assert stored.n_rows == 100_050
    run = next(c for c in blocker.args[0].curve_list if getattr(c, "wdg", None) is views)
    t = np.asarray(ticks)
    t = t[t[:, 0] >= running[0]]
    late = np.diff(t[:, 0]) - TICK_MS / 1e3
    own = np.diff(t[:, 1])  # the GUI thread's own CPU time between two ticks
    process = np.diff(t[:, 2])  # the whole GUI process's (its other threads: the run's worker, HDF5)
    worst = int(np.argmax(late))
    b = np.asarray(json.loads(baseline_ticks))
    b = b[(b >= running[0]) & (b <= end)]
    baseline = np.diff(b) - TICK_MS / 1e3

    text = (
        f"bench {place}: {len(late)} ticks over {end - running[0]:.1f} s of run; lateness (ms): median "
        f"{1e3 * np.median(late):.1f}, 99th percentile {1e3 * np.percentile(late, 99):.1f}, max "
        f"{1e3 * late.max():.0f} (the GUI thread's own work in that gap: {1e3 * own[worst]:.0f} ms, the "
        f"whole process's {1e3 * process[worst]:.0f} ms; "
        f"at most {1e3 * own.max():.0f} ms in any gap); views redrawn at {len(set(seen_rows))} row counts, "
        f"a redraw's CPU time at most {1e3 * max(refresh_cpu):.0f} ms; longest garbage collection "
        f"{1e3 * max(gc_pauses, default=0):.0f} ms; the baseline process's 10 ms wait over the same "
        f"time, late by: median {1e3 * np.median(baseline):.1f}, 99th percentile "
        f"{1e3 * np.percentile(baseline, 99):.1f}, max {1e3 * baseline.max():.0f} (the machine's load "
        f"alone); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print("\n" + text)
    # the views followed the run (not a window that skipped its work)
    assert len({n for n in seen_rows if 0 < n < 100_050}) >= 3
    # our own work is bounded: drawing the whole 1e5-point run from scratch (as when it is ticked in the
    # browser) takes the GUI thread under 100 ms of CPU (best of three, so that another process's load
    # on this shared machine is not counted)
    costs = []
    for _ in range(3):
        views.remove(run)
        start = time.thread_time()
        views.load(run)
        costs.append(time.thread_time() - start)
    text += f"; the whole run drawn from scratch in {1e3 * min(costs):.0f} ms of CPU"
    print(text)
    print(
        f"BENCH gui: {text}; bound {1e3 * MAX_BLOCKED_S:.0f} ms: {'met' if late.max() < MAX_BLOCKED_S else 'NOT met'}"
    )
    return stored
