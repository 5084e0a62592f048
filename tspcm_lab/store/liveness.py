"""Is the process that writes a run file still alive?

A run file whose ``status`` is still ``running`` is either being written right now or was left behind by
a writer that died (kill -9, power cut, crash). On the writer's own host we can tell exactly: the pid
and the process start time stored in the file name one process, alive or not. From another host
(a network share) we fall back to the heartbeat the writer refreshes at every flush.
"""

from __future__ import annotations

import os
import socket
import time

from tspcm_lab.store.layout import HEARTBEAT_STALE_S, process_start_ticks


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    # a zombie (killed, not yet reaped) is dead for our purpose
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
        state = stat[stat.rfind(")") + 2 :].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return True


def writer_alive(
    host: str, pid: int, process_start: str, heartbeat_unix_s: float | None, now_unix_s: float | None = None
) -> bool:
    """True when the writer described by these root attributes may still be writing.

    Same host: the pid must exist, not be a zombie, and have the stored start time (pid reuse).
    Other host: the heartbeat must be younger than `HEARTBEAT_STALE_S` seconds.
    """
    if host and host == socket.gethostname() and pid > 0:
        if not _pid_alive(pid):
            return False
        if process_start:
            current = process_start_ticks(pid)
            if current and current != process_start:
                return False
        return True
    if heartbeat_unix_s is None:
        return False
    now = time.time() if now_unix_s is None else now_unix_s
    return (now - heartbeat_unix_s) < HEARTBEAT_STALE_S
