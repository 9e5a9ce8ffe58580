"""The shape of the package: layer contracts (import-linter), short functions, a small top level,
and a public plugin surface that stays where the README says it is."""

from __future__ import annotations

import ast
import importlib
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "ltml_bench"
MAX_FUNCTION_LINES = 60
MAX_TOP_LEVEL_MODULES = 8

# every name the README, the docs or the example plugin tells users to import, from where they import it
PUBLIC_SURFACE = {
    "ltml_bench": ["run", "table", "create_loss", "list_methods", "list_datasets", "load_plugin", "describe", "__version__"],
    "ltml_bench.registry": ["MethodSpec", "DatasetSpec", "register_method", "register_dataset", "METHODS", "DATASETS",
                            "get_method", "get_dataset", "load_plugin_file", "check_method_spec", "check_dataset_spec"],
    "ltml_bench.data": ["DatasetBundle", "Split", "TensorImages", "load_batch", "build_bundle", "cache_dir", "cached_arrays", "stable_hash",
                        "IMAGENET_MEAN", "IMAGENET_STD"],
    "ltml_bench.losses": ["create_loss", "MultiLabelLoss"],
    "ltml_bench.metrics": ["average_precision", "group_report", "GroupRule", "GROUPS"],
    "ltml_bench.config": ["TrainConfig", "RunConfig"],
    "ltml_bench.errors": ["UserError", "ConfigError", "DataError"],
    "ltml_bench.recipes": ["DB_RESNET50", "DB_RESNET50_RESAMPLED"],
    "ltml_bench.cli": ["main"],
}


@pytest.mark.parametrize("module", sorted(PUBLIC_SURFACE))
def test_public_names_import_from_where_the_docs_say(module: str) -> None:
    imported = importlib.import_module(module)
    missing = [name for name in PUBLIC_SURFACE[module] if not hasattr(imported, name)]
    assert not missing, f"{module} no longer provides {missing}"


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.fail("lint-imports (import-linter) is not installed: pip install -e '.[test]'")
    return subprocess.run([exe, "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_import_contracts_are_kept() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    kept = [line for line in result.stdout.splitlines() if line.endswith(" KEPT")]
    assert len(kept) >= 6, result.stdout


@pytest.mark.parametrize("module, injected, contract", [
    ("ltml_bench/metrics/ap.py", "import ltml_bench.config", "Metrics are pure"),
    ("ltml_bench/reporting/tables.py", "import ltml_bench.training.loop", "Reporting never imports the training loop"),
    ("ltml_bench/training/loop.py", "import methods.erm", "The training loop never imports a method"),
    ("ltml_bench/runs/records.py", "import rich", "Only the command line imports typer or rich"),
    ("ltml_bench/data/interface.py", "import ltml_bench.data.images", "No import cycles"),
    ("ltml_bench/storage/files.py", "import ltml_bench.api", "Layers"),
])
def test_each_contract_catches_a_violation(tmp_path: Path, module: str, injected: str, contract: str) -> None:
    """The contracts are not vacuous: a copy of the tree with one forbidden import breaks the named one."""
    for part in ("ltml_bench", "methods", "datasets"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{injected}  # injected by the test\n")
    result = _lint_imports(tmp_path)  # lint-imports reads the packages found from its working folder
    assert result.returncode != 0, result.stdout
    broken = [line for line in result.stdout.splitlines() if line.endswith(" BROKEN")]
    assert any(line.startswith(contract) for line in broken), result.stdout


def _functions(path: Path) -> list[tuple[str, int, str]]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append((node.name, node.end_lineno - node.lineno + 1, ast.get_docstring(node) or ""))
    return found


def test_no_function_is_longer_than_about_a_screen() -> None:
    too_long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for name, lines, doc in _functions(path):
            if lines > MAX_FUNCTION_LINES + 5 and "long because" not in doc:
                too_long.append(f"{path.relative_to(ROOT)}:{name} ({lines} lines)")
    assert not too_long, "split these, or say in the docstring why each is 'long because ...': " + ", ".join(too_long)


def test_the_top_level_holds_only_the_public_surface() -> None:
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(modules) <= MAX_TOP_LEVEL_MODULES, modules
    for sub in sorted(p for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()):
        doc = ast.get_docstring(ast.parse((sub / "__init__.py").read_text()))
        assert doc, f"{sub.name}/__init__.py should say in a line what lives there"


def test_the_training_loop_reads_in_one_screen() -> None:
    loop = dict((name, lines) for name, lines, _ in _functions(PACKAGE / "training" / "loop.py"))
    assert loop["_run"] <= MAX_FUNCTION_LINES and loop["train_one_epoch"] <= MAX_FUNCTION_LINES
    source = (PACKAGE / "training" / "loop.py").read_text()
    assert "dist_info" not in source and "world_size" not in source.split("def write_results")[0]


def test_no_package_module_names_a_method_or_dataset_module() -> None:
    """Built-in methods and datasets are reached only through the registry's import strings."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "registry.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if any(n.startswith(("ltml_bench.methods", "ltml_bench.datasets")) for n in names):
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, offenders
