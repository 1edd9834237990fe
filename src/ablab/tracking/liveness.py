"""Who owns a RUNNING run, and is it still alive? Owner tags and a heartbeat on every open run.

A process killed with ``kill -9`` (or by the OOM killer, or with its node) cannot end its runs:
they would stay RUNNING forever. So every run carries its owner (host, pid, the pid's start
time, the launch) and a heartbeat tag that a background thread refreshes while the run is
open. ``ablab.tracking.stale_runs`` reads these to find runs whose owner is gone.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from mlflow.entities import RunStatus, RunTag
from mlflow.tracking import MlflowClient

from ablab.tracking.launch import launch_id
from ablab.tracking.tags import HEARTBEAT_AT, KILLED_REASON, LAUNCH, OWNER_HOST, OWNER_PID, OWNER_PID_START

log = logging.getLogger(__name__)

HEARTBEAT_ENV, HEARTBEAT_S = "ABLAB_HEARTBEAT_S", 30.0
STALE_ENV, STALE_AFTER_S = "ABLAB_STALE_AFTER_S", 300.0


def heartbeat_every_s() -> float:
    return float(os.environ.get(HEARTBEAT_ENV) or HEARTBEAT_S)


def stale_after_s() -> float:
    """How long without a heartbeat before a run on another host (or a hung one) counts as dead."""
    return float(os.environ.get(STALE_ENV) or STALE_AFTER_S)


def process_start(pid: int) -> str | None:
    """The process' start time in clock ticks since boot (Linux /proc); None where unknown."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def process_age_s() -> float | None:
    """Seconds since this process started: from its /proc start time and CLOCK_BOOTTIME, the
    clock /proc counts start times on (Linux); None where either is unknown."""
    start = process_start(os.getpid())
    clock = getattr(time, "CLOCK_BOOTTIME", None)
    if start is None or clock is None:
        return None
    return time.clock_gettime(clock) - int(start) / os.sysconf("SC_CLK_TCK")


def owner_tags() -> dict[str, str]:
    """The tags that name this process as a run's owner, with a first heartbeat."""
    tags = {
        OWNER_HOST: socket.gethostname(),
        OWNER_PID: str(os.getpid()),
        LAUNCH: launch_id(),
        HEARTBEAT_AT: str(int(time.time())),
    }
    start = process_start(os.getpid())
    if start:
        tags[OWNER_PID_START] = start
    return tags


def owner_gone(tags: Mapping[str, str]) -> bool:
    """True when the owner ran on this host and its process no longer exists (or is a zombie,
    or its pid now belongs to another process)."""
    if tags.get(OWNER_HOST) != socket.gethostname() or not str(tags.get(OWNER_PID, "")).isdigit():
        return False
    pid = int(tags[OWNER_PID])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # another user's process: it exists
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    started = tags.get(OWNER_PID_START)
    return state == "Z" or (started is not None and process_start(pid) not in (None, started))


class Heartbeat:
    """One daemon thread per process that keeps the heartbeat of this process' open runs fresh."""

    def __init__(self) -> None:
        self._runs: dict[str, MlflowClient] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, client: MlflowClient, run_id: str) -> None:
        with self._lock:
            self._runs[run_id] = client
            if self._thread is None:
                self._thread = threading.Thread(target=self._beat, name="ablab-heartbeat", daemon=True)
                self._thread.start()

    def remove(self, run_id: str) -> None:
        with self._lock:
            self._runs.pop(run_id, None)

    def open_runs(self) -> dict[str, MlflowClient]:
        with self._lock:
            return dict(self._runs)

    def _beat(self) -> None:
        while True:
            time.sleep(heartbeat_every_s())
            beat = [RunTag(HEARTBEAT_AT, str(int(time.time())))]
            for run_id, client in self.open_runs().items():
                try:
                    client.log_batch(run_id, tags=beat)
                except Exception as error:  # noqa: BLE001 - a missed beat is retried next time
                    log.warning("heartbeat of run %s not recorded: %s", run_id, error)

    def abandon(self, reason: str) -> None:
        """The process is about to die: mark its open runs KILLED, saying why."""
        for run_id, client in self.open_runs().items():
            try:
                client.set_tag(run_id, KILLED_REASON, reason)
                client.set_terminated(run_id, RunStatus.to_string(RunStatus.KILLED))
            except Exception as error:  # noqa: BLE001 - the next launch finds it by its owner
                log.warning("run %s not marked KILLED: %s", run_id, error)
            self.remove(run_id)


HEARTBEAT = Heartbeat()
