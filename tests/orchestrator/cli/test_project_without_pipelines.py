"""A project folder without its pipelines is bad input: one line naming the key and the folder,
exit 2, for every verb that runs the program (it used to be a traceback and exit 1)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from project_files import REPO, copy_project


@pytest.mark.parametrize("verb", ["plan", "coverage", "preview"])
def test_a_missing_pipelines_folder_exits_2_in_one_line(tmp_path, verb):
    project = copy_project(tmp_path / "project")
    shutil.rmtree(project / "pipelines")
    result = subprocess.run([sys.executable, "-m", "orchestrator.cli", verb, "--stack", "secondary",
                             "--project-dir", str(project)], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"drctl: dataplatform:dataFactory: pipelinesDir: {project / 'pipelines'}: the pipelines folder does not exist"]
