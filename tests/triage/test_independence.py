"""backend/triage is plain functions on text: only cli.py (the Flask command glue) may import
Flask, and nothing imports the database layer, so the package can be wired in anywhere."""
import ast
from pathlib import Path

import backend.triage

FORBIDDEN = ("flask", "sqlalchemy", "flask_sqlalchemy", "backend.models", "backend.core.extensions", "backend.operations")
PACKAGE = Path(backend.triage.__file__).parent


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_the_cli_imports_flask_and_nothing_imports_the_database():
    checked = 0
    for path in PACKAGE.glob("*.py"):
        allowed = ("flask",) if path.name == "cli.py" else ()
        for name in imported_modules(path):
            bad = [f for f in FORBIDDEN if (name == f or name.startswith(f + ".")) and f not in allowed]
            assert not bad, f"{path.name} imports {name}"
        checked += 1
    assert checked >= 8


def test_runtime_modules_do_not_import_scikit_learn():
    for path in PACKAGE.glob("*.py"):
        if path.name in {"training.py"}:
            continue
        assert not any(n.startswith("sklearn") for n in imported_modules(path)), path.name
