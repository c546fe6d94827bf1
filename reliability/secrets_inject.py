"""drctl with a failure that quotes secrets, for reliability/suite_secrets.py.

    python -m reliability.secrets_inject KIND DRCTL-ARGS...

runs drctl's own entry point in this process after one change, as careless code or a chatty SDK
would behave on the day:
- `postgres`: PostgreSQL's validation fails permanently with an error quoting every secret of the
  environment, the secondary account's key, a DSN with a password, a storage connection string and
  a SAS URL; and the lake's smoke test adds the same to its evidence. The run ends partial.
- `crash`: writing the run's report raises an unexpected exception quoting the same secrets: drctl
  dies with a traceback after the journal's run_finished, as a bug there would make it.
The secrets come from the environment and the run itself: nothing secret is on this command line.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from pathlib import Path
from urllib.parse import quote

MARK = "secrets-suite injected"
SECRET_ENV = ("AZURE_CLIENT_SECRET", "ARM_CLIENT_SECRET", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_ACCESS_TOKEN",
              "DRCTL_STATE_ACCOUNT_KEY", "AZURE_STORAGE_KEY", "ARM_ACCESS_KEY", "PGPASSWORD",
              "AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_SAS_TOKEN")


def command(kind: str) -> list[str]:
    return [sys.executable, "-m", "reliability.secrets_inject", kind]


def secrets_message(account_key: str) -> str:
    env = os.environ
    parts = [f"{name}={env[name]}" for name in SECRET_ENV if env.get(name)]
    parts += [
        f"connecting to postgresql://drctl:{env.get('PGPASSWORD', '')}@127.0.0.1:5432/platform failed",
        f"GET https://canarystore.blob.core.windows.net/raw?sv=2022-11-02&sig={quote(account_key, safe='')}",
        f"DefaultEndpointsProtocol=http;AccountName=lake;AccountKey={account_key};",
        f"key {account_key}, URL-encoded {quote(account_key, safe='')}",
        f"client secret URL-encoded {quote(env.get('AZURE_CLIENT_SECRET', ''), safe='')}",
    ]
    return f"{MARK}: " + " | ".join(parts)


def _postgres() -> None:
    from orchestrator.model import PermanentError, StepOutcome
    from orchestrator.targets.local import runner
    from orchestrator.targets.local.stores.postgres import PostgresStore

    def key(store) -> str:
        return store.pair.secondary_azurite.account_key(store.pair.secondary_account)

    def failing_validation(self: PostgresStore, checks) -> StepOutcome:
        raise PermanentError(secrets_message(key(self)))

    smoke = runner.run_smoke

    def chatty_smoke(profile, probe, errors) -> StepOutcome:
        outcome = smoke(profile, probe, errors)
        if profile.key == "lake":
            outcome.evidence = {**(outcome.evidence or {}), "chatty": secrets_message(key(probe.__self__))}
        return outcome

    PostgresStore.validate = failing_validation
    runner.run_smoke = chatty_smoke


def _crash() -> None:
    import orchestrator.verbs.drill as drill

    def crashing_report(*args, **kwargs):
        keys = json.loads((Path(kwargs["run"]["local_dir"]) / "account-keys.json").read_text())
        raise RuntimeError(secrets_message(next(iter(keys.values()))))

    drill.finish_run = crashing_report


def main(argv: list[str]) -> None:
    kind, args = argv[0], argv[1:]
    {"postgres": _postgres, "crash": _crash}[kind]()
    # drctl's own entry point, as `python -m orchestrator.cli` runs it, in this (patched) process.
    sys.argv = ["drctl", *args]
    runpy.run_module("orchestrator.cli", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
