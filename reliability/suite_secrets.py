"""Secrets: canaries placed where secrets live never come out of any run, whatever its end.

Each suite run makes its own canaries (reliability/secret_scan.py) and places them:
(a) in the environment, under every name drctl or the SDKs it drives read a secret from
    (SECRET_ENV below: the service principal's secret, Terraform/Pulumi's, the Pulumi passphrase,
    storage connection strings, keys and SAS tokens, drctl's state account key, libpq's password);
(b) in the stack files: a Pulumi secure value of a provider key (accepted: it is Pulumi's business)
    in the project every run uses, and in refused ones (BAD_CONFIGS) that must be refused without
    the value echoed;
(c) in the connection strings drctl handles: the local region's generated account keys are
    secrets too, and the failed run's injected error (reliability/secrets_inject.py) quotes them
    along with every environment canary, in a DSN, a connection string and a SAS URL.
Then drctl runs: a recovered drill, a drill whose PostgreSQL validation fails (partial), a drill
killed with SIGKILL mid-failover and resumed, a failover without the Pulumi CLI, a dry run, a
preflight and bad stack files; `full` adds more (FULL_CASES). After each case every byte it
produced is searched: stdout, stderr and every file under the case's folder, which holds drctl's
--workdir (run directories, history, the emulators' folders with their logs and data).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import yaml

from orchestrator.run.rundir import RunDir
from reliability import secrets_inject
from reliability.drctl import DRCTL, why_it_failed
from reliability.leftovers import stop_processes_of
from reliability.secret_scan import KEY_STORE, Needles, Scan, canary, make_prefix, scan_tree
from reliability.suite_bad_input import STACK, make_project

REPO = Path(__file__).resolve().parents[1]
TIMEOUT_S = 300
PAUSE_ENV, PAUSE_STEP = "DRCTL_TEST_PAUSE_AFTER", "lake.rehydrate"
# Environment names a secret is read from: placed with a canary each (AZURE_STORAGE_CONNECTION_STRING
# holds its canary as the AccountKey of a connection string, AZURE_STORAGE_SAS_TOKEN as a signature).
SECRET_ENV = secrets_inject.SECRET_ENV
# Settings that would send a run elsewhere than this machine, or change it: never inherited.
DROPPED_ENV = ("AZURE_SUBSCRIPTION_ID", "ARM_SUBSCRIPTION_ID", "DRCTL_PULUMI_COMMAND", PAUSE_ENV,
               "DRCTL_TEST_KILL_AT", "PULUMI_BACKEND_URL", "DRCTL_CACHE", "DRCTL_CACHE_DIR")
# (name, key, value with {canary}): each must be refused (exit 2) without the value echoed.
BAD_CONFIGS = (
    ("unknown key holding a secure value", "dataplatform:x", {"secure": "{canary}"}),
    ("unknown key holding a plain secret", "dataplatform:adminPassword", "{canary}"),
    ("known key given as a secret", "dataplatform:lake", {"secure": "{canary}"}),
    ("unknown key inside a known one", "dataplatform:postgres", {"version": "16", "adminPassword": "{canary}"}),
    ("secure value inside a known key", "dataplatform:foundation", {"tags": {"owner": {"secure": "{canary}"}}}),
)


class Suite:
    def __init__(self, workdir: Path, full: bool) -> None:
        self.workdir, self.full = Path(workdir).resolve(), full
        self.prefix = make_prefix()
        self.env = self._env()
        self.project = self._project()
        self.account_keys: list[str] = []
        self.scan, self.runs, self.cases, self.notes = Scan(), 0, 0, []
        self.notes_skipped: list[str] = []  # cases this machine or this drctl cannot run: said, not failed

    # -- placements ---------------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
        for name in SECRET_ENV:
            env[name] = canary(self.prefix, name.lower().replace("_", "-"))
        key = env["AZURE_STORAGE_CONNECTION_STRING"]
        env["AZURE_STORAGE_CONNECTION_STRING"] = (
            f"DefaultEndpointsProtocol=https;AccountName=canarystore;AccountKey={key};EndpointSuffix=core.windows.net")
        env["AZURE_STORAGE_SAS_TOKEN"] = f"sv=2022-11-02&ss=b&srt=co&sp=rl&sig={env['AZURE_STORAGE_SAS_TOKEN']}"
        # Not secrets, but with the secret they make the environment declare a service principal.
        env["AZURE_CLIENT_ID"] = env["AZURE_TENANT_ID"] = "00000000-0000-0000-0000-00000000c0de"
        # The Pulumi CLI's folder (if any) leaves PATH: the "no Pulumi CLI" case must find none.
        env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                      if p and not (Path(p) / "pulumi").exists())
        env["NO_COLOR"] = "1"
        return env

    def _project(self) -> Path:
        project = make_project(self.workdir / "inputs" / "project")
        for stack in ("primary", "secondary"):
            _edit(project / f"Pulumi.{stack}.yaml", "azure-native:clientSecret",
                  {"secure": canary(self.prefix, f"stack-secure-{stack}")})
        return project

    # -- running drctl ------------------------------------------------------------------------------
    def folder(self, case: str) -> Path:
        path = self.workdir / "cases" / case
        path.mkdir(parents=True, exist_ok=True)
        return path

    def drctl(self, case: str, *args: str, expect: int | None, inject: str | None = None,
              env: dict[str, str] | None = None, prefix: list[str] | None = None,
              timeout: float = TIMEOUT_S) -> tuple[int, str, str]:
        """Run drctl in the case's folder, stdout and stderr into files there (they are scanned)."""
        folder, name = self.folder(case), f"{self._count_run():03d}-{args[0]}"
        argv = [*(prefix or []), *(secrets_inject.command(inject) if inject else DRCTL), *args]
        env = dict(env or self.env)
        if inject:  # the injector lives in this repository's reliability package, not installed
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
        with open(folder / f"{name}.stdout", "wb") as out, open(folder / f"{name}.stderr", "wb") as err:
            code = subprocess.run(argv, cwd=folder, env=env, stdout=out, stderr=err,
                                  timeout=timeout).returncode
        stdout, stderr = (folder / f"{name}.stdout").read_text(), (folder / f"{name}.stderr").read_text()
        if expect is not None and code != expect:
            self.notes.append(f"{case}: drctl {args[0]} exited {code}, not {expect}: {why_it_failed(stderr)}")
        return code, stdout, stderr

    def _count_run(self) -> int:
        self.runs += 1
        return self.runs

    def run_dir(self, case: str, stderr: str) -> Path | None:
        first = stderr.splitlines()[0] if stderr else ""
        if first.startswith("run: "):
            return Path(first.removeprefix("run: "))
        self.notes.append(f"{case}: no run directory announced: {stderr.strip()[-300:]}")
        return None

    def finish(self, case: str) -> None:
        """Scan everything the case produced, for the canaries and every account key seen so far."""
        folder = self.folder(case)
        for store in folder.rglob(KEY_STORE):
            self.account_keys += [k for k in yaml.safe_load(store.read_text()).values() if k not in self.account_keys]
        self._scan(case, folder)
        self.cases += 1

    def finish_inputs(self) -> None:
        """The project copies the cases ran on: drctl writes there too (its offline cache, .drill/),
        so they are scanned, all but the stack files, which hold the canaries placed on purpose."""
        self._scan("inputs", self.workdir / "inputs",
                   skip=lambda path: path.name.startswith("Pulumi.") and path.suffix == ".yaml")

    def _scan(self, label: str, root: Path, skip=lambda path: False) -> None:
        found = scan_tree(root, Needles.for_prefix(self.prefix, self.account_keys), skip)
        self.scan.add(found)
        self.notes += [f"{label}: leak: {leak.line()}" for leak in found.leaks]
        self.notes += [f"{label}: unreadable, so not proven clean: {u}" for u in found.unreadable]

    # -- the cases -------------------------------------------------------------------------------------
    def drill(self, case: str, *extra: str, expect: int = 0, inject: str | None = None) -> Path | None:
        wd = str(self.folder(case) / "wd")
        _, _, err = self.drctl(case, "drill", "--local", "--json", "--keep-data", "--workdir", wd,
                               "--project-dir", str(self.project), *extra, expect=expect, inject=inject)
        return self.run_dir(case, err)

    def drills(self) -> None:
        """The recovered, failed and crashed drills, one after the other, each scanned once all have
        ended, for every account key any of them made. They ran side by side for a while, 15 s
        sooner; in one CI run of eight the crashed drill's resume then ended not recovered, which
        no run of them one after the other has shown, and its cause was not found."""
        cases = {"recovered": self.recovered, "failed": self.failed, "crashed": self.crashed}
        for run_case in cases.values():
            run_case()
        for case in cases:
            self.finish(case)

    def recovered(self) -> None:
        run = self.drill("recovered")
        if run:
            self.drctl("recovered", "status", str(run), "--json", expect=0)
            self.drctl("recovered", "verify-evidence", str(run), expect=0)

    def failed(self) -> None:
        run = self.drill("failed", expect=1, inject="postgres")
        if run:
            self._check_masked(run)
            self.drctl("failed", "status", str(run), "--json", expect=0)

    def _check_masked(self, run: Path) -> None:
        """The injected error did reach the journal, masked: else the case proved nothing."""
        journal = RunDir(run).journal.read_text()
        if secrets_inject.MARK not in journal or "[redacted]" not in journal:
            self.notes.append(f"failed: the injected secrets never reached {run / 'journal.jsonl'} (nothing tested)")

    def crashed(self, case: str = "crashed", how: int = signal.SIGKILL, code: int = -signal.SIGKILL) -> None:
        """A drill paused after the lake's rehydration, sent `how`, then resumed (scanned by the caller)."""
        folder = self.folder(case)
        name = f"{self._count_run():03d}-drill"
        err_path = folder / f"{name}.stderr"
        argv = [*DRCTL, "drill", "--local", "--json", "--keep-data", "--workdir", str(folder / "wd"),
                "--project-dir", str(self.project)]
        with open(folder / f"{name}.stdout", "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(argv, cwd=folder, env={**self.env, PAUSE_ENV: PAUSE_STEP}, stdout=out, stderr=err,
                                    preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + TIMEOUT_S
        while f"paused after {PAUSE_STEP}" not in err_path.read_text() and proc.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.1)
        proc.send_signal(how)
        ended = proc.wait(timeout=60)
        if ended != code:
            self.notes.append(f"{case}: the paused drill ended {ended}, not {code}")
        run = self.run_dir(case, err_path.read_text())
        if run is not None:
            self.drctl(case, "resume", str(run), "--json", expect=0)

    def cheap(self) -> None:
        """The verbs that stop before any emulator: no Pulumi CLI, a dry run, preflight, bad stack files."""
        wd, project = str(self.folder("no-pulumi") / "wd"), str(self.project)
        _, _, err = self.drctl("no-pulumi", "failover", "--stack", "secondary", "--workdir", wd,
                               "--project-dir", project, expect=2)
        if "Pulumi CLI" not in err:
            self.notes.append(f"no-pulumi: stderr does not name the missing Pulumi CLI: {err.strip()[-200:]}")
        self.finish("no-pulumi")
        self.drctl("dry-run", "failover", "--stack", "secondary", "--dry-run", "--json", "--project-dir", project,
                   expect=0)
        self.drctl("dry-run", "plan", "--stack", "secondary", "--json", "--project-dir", project, expect=0)
        self.finish("dry-run")
        # No subscription anywhere (the stack files name none, DROPPED_ENV removes the variables): the
        # preflight stops before it builds a client, so nothing is asked of Azure.
        self.drctl("preflight", "preflight", "--stack", "secondary", "--json", "--project-dir", project, expect=2)
        self.finish("preflight")
        for number, (name, key, value) in enumerate(BAD_CONFIGS):
            self.bad_config(number, name, key, value)

    def bad_config(self, number: int, name: str, key: str, value: object) -> None:
        project = make_project(self.workdir / "inputs" / f"bad-{number}")
        secret = canary(self.prefix, f"bad-config-{number}")
        _edit(project / STACK, key, _fill(value, secret), merge=True)
        case = f"bad-config-{number}"
        verbs = [("plan", "--stack", "secondary")]
        if self.full:
            verbs += [("drill", "--local", "--workdir", str(self.folder(case) / "wd")),
                      ("failover", "--stack", "secondary", "--dry-run")]
        for verb in verbs:
            _, out, err = self.drctl(case, *verb, "--project-dir", str(project), expect=2)
            if out or err.count("\n") != 1 or key not in err:
                self.notes.append(f"{case} ({name}): not one line naming {key}: {err.strip()[-200:]!r}")
        self.finish(case)


def _fill(value: object, secret: str) -> object:
    if isinstance(value, dict):
        return {k: _fill(v, secret) for k, v in value.items()}
    return secret if value == "{canary}" else value


def _edit(path: Path, key: str, value: object, merge: bool = False) -> None:
    document = yaml.safe_load(path.read_text())
    current = document["config"].get(key)
    if merge and isinstance(current, dict) and isinstance(value, dict):
        value = {**current, **value}
    document["config"][key] = value
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def run(full: bool, workdir: Path) -> dict:
    suite = Suite(workdir, full)
    try:
        suite.cheap()  # first: its plan and dry run capture the project's graphs, which the drills then read cached
        suite.drills()
        if full:
            from reliability.secrets_full import more_cases

            more_cases(suite)
        suite.finish_inputs()
    finally:
        stop_processes_of(suite.workdir)
    scan = suite.scan
    return {"suite": "secrets", "outcome": "passed" if not suite.notes else "failed",
            "figures": {"cases": suite.cases, "drctl runs": suite.runs, "canaries placed": len(SECRET_ENV) + 2
                        + len(BAD_CONFIGS), "account keys watched": len(suite.account_keys),
                        "files scanned": scan.files, "bytes scanned": scan.bytes, "leaks": len(scan.leaks)},
            "notes": suite.notes + [f"skipped: {note}" for note in suite.notes_skipped]}
