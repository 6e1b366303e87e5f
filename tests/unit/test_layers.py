"""The layer rules are import-linter contracts in pyproject.toml; this runs them.

A second run on a copy of the package with one forbidden import added proves the contracts
really look at the code (a broken tool or an empty contract list would pass the first run).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_layer_contract_is_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_forbidden_import_breaks_the_contracts(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "mjdash", tmp_path / "mjdash")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    durations = tmp_path / "mjdash" / "model" / "durations.py"
    durations.write_text(durations.read_text() + "\nfrom textual.app import App  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "Only mjdash.ui imports textual BROKEN" in result.stdout
    assert "Layers" in result.stdout
