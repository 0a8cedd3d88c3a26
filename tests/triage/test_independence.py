"""backend/triage is plain functions on text: it imports neither Flask nor the database layer (its
`flask triage` commands live in backend/cli/triage.py), so the package can be wired in anywhere."""
import ast
from pathlib import Path

import backend.triage

FORBIDDEN = ("flask", "sqlalchemy", "flask_sqlalchemy", "backend.core.extensions")
PACKAGE = Path(backend.triage.__file__).parent


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_nothing_imports_flask_or_the_database():
    checked = 0
    for path in PACKAGE.glob("*.py"):
        for name in imported_modules(path):
            bad = [f for f in FORBIDDEN if name == f or name.startswith(f + ".")]
            assert not bad, f"{path.name} imports {name}"
        checked += 1
    assert checked >= 7


def test_runtime_modules_do_not_import_scikit_learn():
    for path in PACKAGE.glob("*.py"):
        if path.name in {"training.py"}:
            continue
        assert not any(n.startswith("sklearn") for n in imported_modules(path)), path.name
