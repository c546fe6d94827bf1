"""`pulumi stack ...` and `pulumi cancel`, as the fake CLI answers them.

`stack select` of a stack that does not exist fails with the CLI's "no stack named ... found"
(the Automation API raises StackNotFoundError on it), so create_or_select goes on to `stack init`.
`stack rm` fails as the CLI does when the stack still has resources and no --force.

`pulumi cancel` on a service backend marks the running update cancelled (the running `up` stops at
its next event) and fails with the service's 409 when no update is running. On a self-managed
backend it only deletes the stack's lock: the update it belonged to goes on (pulumi/pulumi#9253).
"""

from __future__ import annotations

import json
import time
from typing import Any

from fake_pulumi.state import State, fail, new_stack, option, pid_alive, self_managed_backend, stack_of, unlock


def stack_command(state: State, args: list[str]) -> None:
    sub = args[1] if len(args) > 1 else ""
    with state as data:
        if sub == "init":
            name = args[2]
            if name in data["stacks"]:
                fail(f"error: stack '{name}' already exists")
            stack = data["stacks"][name] = new_stack()
            unlock(stack)  # a passphrase-protected stack records its passphrase's salt at init
            return
        if sub == "rm":
            _remove(data, option(args, "--stack") or args[-1], args)
            return
        stack = stack_of(data, args)
        if sub == "select":
            return
        if sub == "output":
            shown = "--show-secrets" in args
            if shown:
                unlock(stack)
            outputs = {k: (v if shown or k not in stack["secret_outputs"] else "[secret]")
                       for k, v in stack["outputs"].items()}
            print(json.dumps(outputs))
        elif sub == "history":
            if "--show-secrets" in args:
                unlock(stack)
            print(json.dumps(stack["history"][: int(option(args, "--page-size") or len(stack["history"]) or 1)]))
        elif sub == "export":
            if "--show-secrets" in args:  # the Automation API's export_stack asks for them
                unlock(stack)
            print(json.dumps({"version": 3, "deployment": _deployment(stack)}))
        else:
            fail(f"fake pulumi: unsupported command: stack {sub}", 2)


def _remove(data: dict[str, Any], name: str, args: list[str]) -> None:
    if name not in data["stacks"]:
        fail(f"error: no stack named '{name}' found")
    stack = data["stacks"][name]
    if (stack["outputs"] or stack["resources"]) and "--force" not in args:
        fail(f"error: '{name}' still has resources; removal rejected. Possible actions:\n"
             f"- Make sure that '{name}' is the stack that you want to destroy\n"
             "- Run `pulumi destroy` to delete the resources, then run `pulumi stack rm`")
    del data["stacks"][name]


def _deployment(stack: dict[str, Any]) -> dict[str, Any]:
    """The checkpoint `stack export` prints; without listed resources, one per output."""
    resources = stack["resources"] or [{"urn": k, "type": "fake"} for k in sorted(stack["outputs"])]
    deployment: dict[str, Any] = {"manifest": {}, "resources": resources}
    if stack["pending_operations"]:
        deployment["pending_operations"] = stack["pending_operations"]
    return deployment


def cancel_command(state: State, args: list[str]) -> None:
    name = option(args, "--stack") or (args[args.index("--") + 1] if "--" in args else None)
    with state as data:
        stack_of(data, ["--stack", str(name)])
        running = data["running"].get(name)
        alive = running is not None and pid_alive(running["pid"])
        if self_managed_backend():
            if alive:
                running["lock_deleted_at"] = time.time()
        elif not alive:
            fail("error: [409] Conflict: The Update has already completed")
        else:
            running["cancel"] = True
    print(f"The currently running update for '{name}' has been canceled!")
