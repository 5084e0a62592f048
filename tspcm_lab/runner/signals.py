"""SIGTERM stops a headless run like Ctrl-C."""

from __future__ import annotations

import signal
import threading


class StopSignals:
    """While running: SIGTERM raises KeyboardInterrupt in the main thread, like Ctrl-C."""

    def __enter__(self):
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGTERM, self._raise)
        return self

    @staticmethod
    def _raise(signum, frame):
        raise KeyboardInterrupt

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)
