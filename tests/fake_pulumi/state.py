"""The fake CLI's backend and its "Azure": one JSON file beside the scenario, read and written under
an exclusive lock, and the checks the real CLI makes before it touches a stack.

Kept in the file: the stacks (outputs, resources, pending operations, history), the ARM ids the
scenario says Azure has (`azure`; a successful create adds its id, a destroy removes it), the
updates running now (`running`, what `pulumi cancel` acts on) and the updates that saw a cancel.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

# Self-managed ("DIY") backends: the state is a file the CLI writes itself, and stack secrets are
# encrypted with a passphrase unless the stack names another secrets provider.
# https://www.pulumi.com/docs/iac/concepts/state-and-backends/
DIY_SCHEMES = frozenset({"file", "azblob", "s3", "gs"})
# The CLI's text (pkg/secrets/passphrase) when neither variable is set in non-interactive mode.
PASSPHRASE_MISSING = ("passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE "
                      "environment variables")
# Where `up`, `refresh`, `preview` and `destroy` meet it: loading the stack's configuration.
CONFIG_CONTEXT = "getting stack configuration: get stack secrets manager: "


def fail(message: str, code: int = 255) -> NoReturn:
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.exit(code)


def option(args: list[str], name: str) -> str | None:
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def options(args: list[str], name: str) -> list[str]:
    """Every value of a flag given more than once (cobra's StringArray: one value per occurrence)."""
    return [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == name]


def new_stack() -> dict[str, Any]:
    return {"outputs": {}, "secret_outputs": [], "pending_operations": [], "history": [], "resources": []}


def arm_key(arm_id: str) -> str:
    return arm_id.lower()  # ARM ids are case-insensitive


class State:
    """The fake backend: one JSON file, read and written under an exclusive lock."""

    def __init__(self, scenario_path: Path) -> None:
        self.scenario = json.loads(scenario_path.read_text(encoding="utf-8"))
        self.path = scenario_path.parent / "fake_pulumi_state.json"
        self.calls = scenario_path.parent / "fake_pulumi_calls.jsonl"
        self._lock = open(scenario_path.parent / "fake_pulumi.lock", "w")  # noqa: SIM115 (held for the process)

    def _load(self) -> dict[str, Any]:
        if self.path.exists():
            return json.loads(self.path.read_text(encoding="utf-8"))
        stacks = {name: {**new_stack(), **spec} for name, spec in self.scenario.get("stacks", {}).items()}
        azure = {arm_key(arm_id): arm_id for arm_id in self.scenario.get("azure", [])}
        return {"stacks": stacks, "used": {}, "azure": azure, "running": {}, "cancelled_updates": []}

    def __enter__(self) -> dict[str, Any]:
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        self.data = self._load()
        return self.data

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        try:
            if kind is None:  # a command that fails changes nothing
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(json.dumps(self.data, indent=1), encoding="utf-8")
                os.replace(tmp, self.path)
        finally:
            fcntl.flock(self._lock, fcntl.LOCK_UN)

    def peek(self) -> dict[str, Any]:
        """A consistent read, nothing written."""
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        try:
            return self._load()
        finally:
            fcntl.flock(self._lock, fcntl.LOCK_UN)

    def log(self, args: list[str]) -> None:
        record = {"args": args, "cwd": os.getcwd(), "pid": os.getpid(), "at": time.time()}
        with open(self.calls, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    def next_run(self, command: str) -> dict[str, Any]:
        with self as data:
            runs = self.scenario.get(command) or [{}]
            used = data["used"].get(command, 0)
            data["used"][command] = used + 1
        return runs[min(used, len(runs) - 1)]


def stack_of(data: dict[str, Any], args: list[str]) -> dict[str, Any]:
    name = option(args, "--stack")
    if name not in data["stacks"]:
        # The text the Automation API turns into StackNotFoundError ("no stack named.*found").
        fail(f"error: no stack named '{name}' found")
    return data["stacks"][name]


def self_managed_backend() -> str | None:
    url = os.environ.get("PULUMI_BACKEND_URL", "")
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    return url if scheme in DIY_SCHEMES else None


def unlock(stack: dict[str, Any], context: str = "") -> None:
    """On a self-managed backend, the stack's passphrase: missing or wrong fails as the CLI does.
    The first one seen is the stack's (`stack init` records it)."""
    if self_managed_backend() is None:
        return
    if "PULUMI_CONFIG_PASSPHRASE" in os.environ:  # set but empty is a passphrase too
        phrase = os.environ["PULUMI_CONFIG_PASSPHRASE"]
    elif os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
        try:
            phrase = Path(os.environ["PULUMI_CONFIG_PASSPHRASE_FILE"]).read_text(encoding="utf-8").strip()
        except OSError as exc:
            fail(f"error: {context}unable to read PULUMI_CONFIG_PASSPHRASE_FILE: {exc.strerror}")
    else:
        fail(f"error: {context}{PASSPHRASE_MISSING}")
    digest = hashlib.sha256(phrase.encode()).hexdigest()
    if stack.setdefault("passphrase_sha256", digest) != digest:
        fail(f"error: {context}incorrect passphrase")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
