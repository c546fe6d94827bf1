"""Who holds a lease or a marker, and whether that drctl process is still there."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

from orchestrator.run.ownership import iso, owner_alive, owner_fields, parse_time


def test_timestamps_read_back_as_aware_utc_and_anything_else_is_none():
    moment = datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC)
    assert iso(moment) == "2026-03-01T12:30:05Z" and parse_time(iso(moment)) == moment
    assert parse_time("2026-03-01T12:30:05") == moment  # no zone means UTC
    assert parse_time("soon") is None and parse_time(None) is None and parse_time(1700000000) is None


def test_this_process_is_alive_and_a_finished_one_is_gone():
    assert owner_alive(owner_fields()) is True
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    assert owner_alive({**owner_fields(), "pid": int(done.stdout)}) is False


def test_a_reused_pid_is_somebody_else():
    assert owner_alive({**owner_fields(), "pid_started": owner_fields()["pid_started"] - 3600}) is False


def test_another_hosts_owner_or_no_pid_cannot_be_told():
    assert owner_alive({**owner_fields(), "host": "elsewhere.invalid"}) is None
    assert owner_alive({"host": owner_fields()["host"]}) is None
