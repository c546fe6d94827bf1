"""The DRCTL_TEST_KILL_AT test hook: drctl kills itself with SIGKILL at a chosen point of a run.

For the crash-and-resume suite (reliability/suite_crash.py) only; unset, nothing changes.

    DRCTL_TEST_KILL_AT=<step id>:end      right after the step's success is journaled (fsynced)
    DRCTL_TEST_KILL_AT=<step id>:<secs>   <secs> seconds after the step's start is journaled,
                                          whatever the process is doing then (0: before it runs)
    DRCTL_TEST_KILL_AT=run:end            right after run_finished is journaled, before the report

Why in the process rather than a timer in the test: local steps take milliseconds to a second,
less than a test polling stderr needs to notice "X started", so an outside timer would land
anywhere. Here the clock starts at the journaled start itself. It is still a real SIGKILL: no
handler, finally block or atexit runs, the emulators (own sessions) outlive drctl, and a journal
write in flight on a worker thread is cut where it stands.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any

from orchestrator.errors import BadInput

KILL_ENV = "DRCTL_TEST_KILL_AT"
RUN = "run"
END = "end"


def kill_now() -> None:
    sys.stderr.flush()  # the progress lines so far are what the test reads to see where it died
    os.kill(os.getpid(), signal.SIGKILL)


class KillSwitch:
    """An on_event hook: SIGKILL this process at `step`'s end, or `delay_s` after its start."""

    def __init__(self, spec: str) -> None:
        step, sep, when = spec.rpartition(":")
        if not sep or not step:
            raise BadInput(f"{KILL_ENV}: {spec!r} is not <step id>:end or <step id>:<seconds>")
        self.step = step
        self.delay_s: float | None = None
        if when != END:
            try:
                self.delay_s = float(when)
            except ValueError:
                raise BadInput(f"{KILL_ENV}: {when!r} is neither 'end' nor a number of seconds") from None
            if not 0 <= self.delay_s < 3600 or step == RUN:
                raise BadInput(f"{KILL_ENV}: {spec!r}: seconds in [0, 3600), and run takes only :end")
        self._armed = False

    def __call__(self, event: dict[str, Any]) -> None:
        name = event.get("event")
        if self.step == RUN:
            if name == "run_finished":
                kill_now()
            return
        if event.get("step") != self.step:
            return
        if self.delay_s is None:
            if name == "step_succeeded":
                kill_now()
        elif name == "step_started" and not self._armed:
            self._armed = True  # the first start only: a retry's start must not move the point
            if self.delay_s == 0:
                kill_now()  # does not return
            timer = threading.Timer(self.delay_s, kill_now)
            timer.daemon = True
            timer.start()


def kill_switch_from_env() -> KillSwitch | None:
    spec = os.environ.get(KILL_ENV)
    return KillSwitch(spec) if spec else None
