"""The import contracts hold: domains meet through services, the kernel imports no domain.

The contracts live in pyproject.toml (`[tool.importlinter]`) and are checked here by running
`lint-imports`, the same command a developer runs by hand. The count of imports that still
reach into another domain's models is printed so that its fall can be reported; run
`python -m tests.test_architecture` to see it and each import it counts.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKEND = ROOT / "backend"
# Packages of the application that are not domains (no models, routes or service of their own).
NOT_DOMAINS = {"migrations", "content"}
# The one left: couples.models -> accounts.models, an ORM relationship (docs/architecture.md,
# "Domains meet only through services"). 59 before issue #15; nothing may raise it again.
MODEL_IMPORTS_CEILING = 1


def domains() -> set[str]:
    """The domain packages under backend/."""
    return {
        path.name
        for path in BACKEND.iterdir()
        if (path / "__init__.py").exists() and path.name not in NOT_DOMAINS
    }


def _imported_modules(node: ast.AST, package: tuple[str, ...]) -> list[str]:
    """The modules an import statement names (for `from a import b`, both `a` and `a.b`)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = list(package[: len(package) - node.level + 1])
        module = ".".join(base + ([node.module] if node.module else []))
    else:
        module = node.module or ""
    return [module] + [f"{module}.{alias.name}" for alias in node.names]


def cross_domain_model_imports() -> Iterator[tuple[str, int, str]]:
    """Each import statement in a domain package that reaches into another domain's models:
    (file, line, the domain whose models it imports)."""
    known = domains()
    for path in sorted(BACKEND.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if len(parts) < 3 or parts[1] not in known:
            continue
        source = parts[1]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            reached = set()
            for module in _imported_modules(node, parts[:-1]):
                names = module.split(".")
                if (
                    len(names) >= 3
                    and names[0] == "backend"
                    and names[1] in known
                    and names[1] != source
                    and names[2] == "models"
                ):
                    reached.add(names[1])
            for domain in sorted(reached):
                yield str(path.relative_to(ROOT)), node.lineno, domain


def print_cross_domain_model_imports(*, verbose: bool = False) -> int:
    """Print (and return) the count of import statements reaching another domain's models."""
    found = list(cross_domain_model_imports())
    print(f"cross-domain model imports: {len(found)}")
    if verbose:
        for path, line, domain in found:
            print(f"  {path}:{line} -> backend.{domain}.models")
    return len(found)


def run_lint_imports() -> subprocess.CompletedProcess[str]:
    """Run the venv's `lint-imports` over this tree's backend."""
    executable = Path(sys.executable).parent / "lint-imports"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [str(executable), "--no-cache"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def contracts() -> dict[str, dict]:
    """The import contracts of pyproject.toml, by id."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {c["id"]: c for c in config["tool"]["importlinter"]["contracts"]}


def test_the_import_contracts_are_kept() -> None:
    result = run_lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout, result.stdout
    # An exception listed in ignore_imports whose import is gone: prune its line.
    for line in result.stdout.splitlines():
        if "No matches for ignored import" in line:
            print(line.strip())


def test_every_submodule_but_the_service_is_closed_to_other_domains() -> None:
    forbidden = {
        name.removeprefix("backend.*.")
        for name in contracts()["domains-meet-through-services"]["forbidden_modules"]
    }
    open_to_others = {
        f"backend.{domain}.{path.stem}"
        for domain in domains()
        for path in (BACKEND / domain).glob("*.py")
        if path.stem not in {"__init__", "service"} and path.stem not in forbidden
    }
    open_to_others |= {
        f"backend.{domain}.{path.name}"
        for domain in domains()
        for path in (BACKEND / domain).iterdir()
        if (path / "__init__.py").exists()
    }
    assert not open_to_others, "add them to forbidden_modules in pyproject.toml"


def test_the_contracts_name_every_domain() -> None:
    sources = contracts()["domains-meet-through-services"]["source_modules"]
    assert {name.removeprefix("backend.") for name in sources} == domains()
    assert set(contracts()["kernel-imports-no-domain"]["forbidden_modules"]) == set(sources)


def test_cross_domain_model_imports_only_fall() -> None:
    count = print_cross_domain_model_imports(verbose=True)
    assert count <= MODEL_IMPORTS_CEILING


if __name__ == "__main__":
    print_cross_domain_model_imports(verbose="-v" in sys.argv)
