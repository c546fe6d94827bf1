"""The secrets suite's full count: more ways a run ends (reliability/suite_secrets.py runs the rest).

- crash-traceback: drctl dies of an unexpected exception quoting the secrets (a bug in writing the
  report, reliability/secrets_inject.py), then `drctl resume` finishes the run;
- interrupted: Ctrl-C (SIGINT) mid-failover, then resume;
- approval: gates that wait for `drctl approve` (a note and a name recorded), resumed after each;
- fallback: the round trip (drill --with-fallback), a second run directory on the primary stack;
- rehearsal: `drctl rehearse --local`, torn down at the end;
- faults / corrupt-backup: a drill under injected faults, and one whose every backup generation is
  damaged, when this drctl has those options;
- preflight-offline: `drctl preflight` with a subscription and the service principal's secret, in a
  network namespace of its own (`unshare -n`: no interface, so nothing leaves the machine) where
  every Azure call fails: the errors of a preflight that cannot reach Azure. Skipped (and said so)
  where unprivileged namespaces are not allowed.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from typing import Any

from reliability.drctl import DRCTL


def _has_option(suite: Any, verb: str, option: str) -> bool:
    done = subprocess.run([*DRCTL, verb, "--help"], env=suite.env, capture_output=True, text=True, timeout=60)
    return option in done.stdout


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-n", "--", "true"], capture_output=True, timeout=30).returncode == 0


def crash_traceback(suite: Any) -> None:
    run = suite.drill("crash-traceback", expect=1, inject="crash")
    stderr = "".join(p.read_text() for p in suite.folder("crash-traceback").glob("*-drill.stderr"))
    if "Traceback" not in stderr or "RuntimeError" not in stderr:
        suite.notes.append("crash-traceback: drctl did not die of the injected exception (nothing tested)")
    if run is not None:
        suite.drctl("crash-traceback", "resume", str(run), "--json", expect=0)
    suite.finish("crash-traceback")


def approval(suite: Any) -> None:
    case = "approval"
    run = suite.drill(case, "--require-approval", expect=1)
    if run is None:
        suite.finish(case)
        return
    for gate in ("platform.gate", "platform.business-gate"):
        suite.drctl(case, "approve", str(run), gate, "--by", "Ada Lovelace", "--note", "checked the report",
                    expect=0)
        suite.drctl(case, "resume", str(run), "--json", expect=0 if gate == "platform.business-gate" else 1)
    suite.finish(case)


def more_cases(suite: Any) -> None:
    crash_traceback(suite)
    suite.crashed("interrupted", how=signal.SIGINT, code=130)
    suite.finish("interrupted")
    approval(suite)
    suite.drill("fallback", "--with-fallback")
    suite.finish("fallback")
    wd = str(suite.folder("rehearsal") / "wd")
    suite.drctl("rehearsal", "rehearse", "--local", "--json", "--workdir", wd, "--project-dir", str(suite.project),
                expect=0)
    suite.finish("rehearsal")
    if _has_option(suite, "drill", "--inject-faults"):
        suite.drill("faults", "--inject-faults", "0.2", "--fault-seed", "7")
        suite.finish("faults")
    else:
        suite.notes_skipped.append("faults: this drctl has no --inject-faults")
    if _has_option(suite, "drill", "--corrupt-latest-backup"):
        suite.drill("corrupt-backup", "--corrupt-latest-backup", "all:every-generation", expect=1)
        suite.finish("corrupt-backup")
    else:
        suite.notes_skipped.append("corrupt-backup: this drctl has no --corrupt-latest-backup")
    if _unshare_works():
        env = {**suite.env, "AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000001"}
        suite.drctl("preflight-offline", "preflight", "--stack", "secondary", "--json", "--project-dir",
                    str(suite.project), expect=1, env=env, prefix=["unshare", "-n", "--"])
        suite.finish("preflight-offline")
    else:
        suite.notes_skipped.append("preflight-offline: `unshare -n` is not allowed here")
