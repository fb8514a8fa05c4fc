"""The `vlkit` entry point itself: --version and a reader that closes the pipe early."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import vlkit
from vlkit.cli.main import main

ROOT = Path(__file__).resolve().parents[3]


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"vlkit {vlkit.__version__}"


def test_output_piped_into_head_exits_quietly() -> None:
    # Far more than a pipe buffer, so the writer meets the closed pipe (`| head -n 1`).
    script = (
        "import sys\n"
        "import vlkit.cli.list_cmd as cmd\n"
        "cmd.run = lambda args: [print('line', i) for i in range(200000)] and 0\n"
        "from vlkit.cli.main import main\n"
        "sys.exit(main(['list', 'configs']))\n"
    )
    shell = f"{sys.executable} -c \"$SCRIPT\" | head -n 1"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True,
                          text=True, cwd=ROOT, timeout=120,
                          env={"SCRIPT": script, "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                               "OMP_NUM_THREADS": "1"})
    assert done.stdout == "line 0\n"
    assert done.stderr == ""  # no BrokenPipeError traceback, no "Exception ignored"
    assert done.returncode == 141
