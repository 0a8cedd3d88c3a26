"""The house rules (docs/architecture.md), checked by import-linter from pyproject.toml: imports
point one way, channels → features → core, and qr/ and config/ stand alone."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.no_app_context


def _lint(where: Path) -> subprocess.CompletedProcess:
    # lint-imports finds the packages on sys.path: the checkout under test goes first.
    return subprocess.run([str(LINT), "--no-cache"], cwd=where, capture_output=True, text=True,
                          env={"PYTHONPATH": str(where), "PATH": "/usr/bin:/bin"}, timeout=120)


def test_imports_point_one_way():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("module, planted", [
    ("backend/core/timeutil.py", "from backend.messages import models as _planted  # noqa"),
    ("backend/org/models.py", "from backend.staff import bp as _planted  # noqa"),
    ("backend/messages/queue.py", "import miniprogram_api.errors as _planted  # noqa"),
])
def test_a_planted_violation_fails(tmp_path, module, planted):
    """The contract has teeth: the same check fails once a lower room imports a higher one."""
    for name in ("backend", "miniprogram_api", "qr", "config"):
        shutil.copytree(ROOT / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__", "static", "templates"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text() + "\n" + planted + "\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
