"""One way to write a file whole: readers see the old content or the new, never half of it."""

from __future__ import annotations

import json
import os
import stat

import pytest

from orchestrator.atomic import make_dirs, make_private_dir, open_for_append, write_atomic, write_json_atomic


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_text_bytes_and_json_land_whole_with_no_temporary_file_left(tmp_path):
    write_atomic(tmp_path / "a.txt", "héllo\n")
    write_atomic(tmp_path / "b.bin", b"\x00\xff")
    write_json_atomic(tmp_path / "c.json", {"b": 1, "a": [1, 2]})
    assert (tmp_path / "a.txt").read_bytes() == "héllo\n".encode()
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\xff"
    # The format every JSON document of a run directory has had: indented, keys in order, a final newline.
    assert (tmp_path / "c.json").read_text() == json.dumps({"b": 1, "a": [1, 2]}, indent=2) + "\n"
    assert leftovers(tmp_path) == []


def test_a_write_replaces_the_file_whole(tmp_path):
    path = tmp_path / "run.json"
    write_json_atomic(path, {"n": 1})
    write_json_atomic(path, {"n": 2})
    assert json.loads(path.read_text()) == {"n": 2} and leftovers(tmp_path) == []


def test_a_write_cut_short_leaves_the_old_content_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "plan.json"
    write_json_atomic(path, {"version": "old"})

    def power_cut(fd):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "fsync", power_cut)
    with pytest.raises(OSError, match="disk gone"):
        write_json_atomic(path, {"version": "new"})
    assert json.loads(path.read_text()) == {"version": "old"} and leftovers(tmp_path) == []


def test_exclusive_refuses_a_file_that_exists_and_keeps_it(tmp_path):
    path = tmp_path / "approval.json"
    write_atomic(path, "first", exclusive=True)
    with pytest.raises(FileExistsError):
        write_atomic(path, "second", exclusive=True)
    assert path.read_text() == "first" and leftovers(tmp_path) == []


def test_mode_is_the_new_files(tmp_path):
    path = tmp_path / "keys.json"
    write_atomic(path, "{}", mode=0o600)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.fixture()
def umask():
    """Set the process umask for one test, restored after."""
    previous = os.umask(0o022)
    yield os.umask
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask", [0o000, 0o002, 0o022])
def test_a_file_written_in_a_private_directory_is_0600_whatever_the_umask(tmp_path, umask, mask):
    umask(mask)
    private = tmp_path / "run"
    private.mkdir(mode=0o700)
    private.chmod(0o700)
    write_atomic(private / "report.md", "# report\n")
    write_json_atomic(private / "run.json", {})
    with os.fdopen(open_for_append(private / "journal.jsonl"), "a") as journal:
        journal.write("{}\n")
    assert [mode(private / name) for name in ("report.md", "run.json", "journal.jsonl")] == [0o600] * 3
    assert mode(make_dirs(private / "approvals" / "deeper")) == 0o700 and mode(private / "approvals") == 0o700


def test_elsewhere_files_and_folders_keep_what_the_umask_gives(tmp_path, umask):
    umask(0o022)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    write_atomic(shared / "runbook.md", "x")
    assert mode(shared / "runbook.md") == 0o644 and mode(make_dirs(shared / "sub")) == 0o755
    write_atomic(shared / "keys.json", "{}", mode=0o600)  # an explicit mode is exact
    assert mode(shared / "keys.json") == 0o600


def test_a_private_run_directory_is_made_0700_whatever_the_umask(tmp_path, umask):
    umask(0o000)
    made = make_private_dir(tmp_path / "runs" / "secondary" / "drill-1")
    assert mode(made) == 0o700
    with pytest.raises(FileExistsError):
        make_private_dir(made, exist_ok=False)
