"""The import directions of docs/architecture.md, checked over the source (AST, no import).

- `core` imports no app; no product module imports `testing`.
- An app reaches another app only through its public modules: services, selectors, models
  (for foreign keys) and the few documented in PUBLIC_MODULES.
- `portal` (the wiring), `testing` (the test kit) and `bench` may import any module.
- A test module never imports another test module: shared helpers live in `testing`.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = {"accounts", "alerts", "audit", "mailqueue", "relaysettings", "smtpserver", "smtpusers"}
WIRING = {"portal", "testing", "bench"}
PUBLIC_MODULES = {"services", "selectors", "models"}
# Public beyond the three: each named in docs/architecture.md with its reason.
EXTRA_PUBLIC_MODULES = {
    "smtpusers.quota",  # the quota rule, read by the SMTP path and hooked into by alerts
    "mailqueue.delivery",  # the delivery workers, started by runsmtp
    "alerts.delivery",  # the alert workers, started by runsmtp
}


def _runtime_nodes(tree: ast.AST):
    """Every node but those under `if TYPE_CHECKING:` (imports for annotations only)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            continue
        yield node
        yield from _runtime_nodes(node)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module `path` imports at run time, as dotted names (`from a import b` gives `a.b`
    too)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            if "." not in node.module:
                found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def source_files(top: str) -> list[Path]:
    return [path for path in sorted((ROOT / top).rglob("*.py")) if "migrations" not in path.parts]


def is_test_module(path: Path) -> bool:
    return "tests" in path.relative_to(ROOT).parts


def violations_of(path: Path) -> list[str]:
    package = path.relative_to(ROOT).parts[0]
    where = f"{path.relative_to(ROOT)}"
    found = []
    for line, module in imported_modules(path):
        parts = module.split(".")
        target = parts[0]
        if ".tests" in f".{module}" and "tests" in parts:
            found.append(f"{where}:{line} imports the test module {module}")
            continue
        if target == "testing" and not is_test_module(path) and package not in WIRING:
            found.append(f"{where}:{line}: product code imports the test kit ({module})")
        if package == "core" and target in APPS | {"portal", "bench"}:
            found.append(f"{where}:{line}: core imports the app {module}")
        crosses_apps = package in APPS and target in APPS and target != package
        if crosses_apps and len(parts) > 1 and not is_test_module(path):
            public = parts[1] in PUBLIC_MODULES or ".".join(parts[:2]) in EXTRA_PUBLIC_MODULES
            if not public:
                found.append(f"{where}:{line}: {package} imports {module}, not a public module")
    return found


def test_it_finds_every_app_and_the_kernel():
    tops = {path.parent.name for path in ROOT.glob("*/apps.py")}
    assert APPS | {"core"} <= tops


def test_it_keeps_the_import_directions_of_the_architecture():
    found = [
        violation
        for top in sorted(APPS | WIRING | {"core"})
        for path in source_files(top)
        for violation in violations_of(path)
    ]
    assert found == []


def app_imports() -> dict[str, set[str]]:
    """Which apps each app's product code imports (tests and migrations left out)."""
    edges: dict[str, set[str]] = {app: set() for app in APPS}
    for app in APPS:
        for path in source_files(app):
            if is_test_module(path):
                continue
            for _, module in imported_modules(path):
                target = module.split(".")[0]
                if target in APPS and target != app:
                    edges[app].add(target)
    return edges


def test_it_has_no_import_cycle_between_apps():
    edges = app_imports()
    cycles = sorted(
        (app, other) for app in edges for other in edges[app] if app < other and app in edges[other]
    )
    assert cycles == []


def test_it_would_catch_a_forbidden_import(tmp_path, monkeypatch):
    """The checker itself: a core module importing an app, an app importing another's views."""
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "bad.py").write_text("from accounts.models import Owner\n")
    (tmp_path / "alerts").mkdir()
    (tmp_path / "alerts" / "bad.py").write_text("from smtpusers import views\n")
    assert violations_of(tmp_path / "core" / "bad.py") == [
        "core/bad.py:1: core imports the app accounts.models"
    ]
    assert violations_of(tmp_path / "alerts" / "bad.py") == [
        "alerts/bad.py:1: alerts imports smtpusers.views, not a public module"
    ]
