"""`ltml-bench new method|dataset NAME`: the package it writes is valid, passes the registry-wide
checks, and (slow, run by .ci/run) installs with `pip install -e` into a throwaway venv and trains
with `ltml-bench run` without any edit."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import REPO, cli, own_plugins

from ltml_bench.registry import check_dataset_spec, check_method_spec
from ltml_bench.scaffold import plugin_files


@pytest.fixture()
def import_from(monkeypatch):
    """Import a module from a folder for this test only (path and module are undone afterwards)."""
    imported: list[str] = []

    def load(root: Path, module: str):
        monkeypatch.syspath_prepend(str(root))
        imported.append(module)
        return importlib.import_module(module)

    yield load
    for module in imported:
        sys.modules.pop(module, None)


def test_new_method_writes_a_package_with_an_entry_point(tmp_path: Path, import_from) -> None:
    result = cli("new", "method", "mymeth", "--out", str(tmp_path / "pkg"))
    assert result.returncode == 0, result.stderr
    root = tmp_path / "pkg"
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) == [
        "README.md", "ltml_bench_mymeth/__init__.py", "pyproject.toml", "tests/test_mymeth.py"]
    project = tomllib.loads((root / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["ltml_bench.methods"] == {"mymeth": "ltml_bench_mymeth:spec"}
    assert f"pip install -e {root}" in result.stdout
    module = import_from(root, "ltml_bench_mymeth")
    spec = module.spec()
    check_method_spec(spec)
    assert spec.name == "mymeth" and spec.loss == "ltml_bench_mymeth:Loss"

    import torch
    import torch.nn.functional as F

    logits, targets = torch.tensor([[1.5, -0.5], [0.2, 2.0]]), torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    loss = module.Loss([3, 1], 4, **spec.loss_params)
    assert torch.allclose(loss(logits, targets), F.binary_cross_entropy_with_logits(logits, targets))
    heavier = module.Loss([3, 1], 4, pos_weight=2.0)(logits, targets)
    by_hand = F.binary_cross_entropy_with_logits(logits, targets, weight=1.0 + targets)
    assert torch.allclose(heavier, by_hand)


def test_new_dataset_writes_a_package_whose_builder_passes_the_checks(tmp_path: Path, import_from) -> None:
    files = plugin_files("dataset", "mydata")
    for relative, text in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if relative.endswith(".py"):
            compile(text, relative, "exec")
    project = tomllib.loads(files["pyproject.toml"])
    assert project["project"]["entry-points"]["ltml_bench.datasets"] == {"mydata": "ltml_bench_mydata:spec"}
    module = import_from(tmp_path, "ltml_bench_mydata")
    check_dataset_spec(module.spec())
    from ltml_bench.data import build_bundle

    bundle = build_bundle(module.spec(), {"train_images": 50, "test_images": 20, "seed": 1})
    assert bundle.train.labels.shape == (50, 6) and bundle.test.labels.shape == (20, 6)


@pytest.mark.parametrize("args, message", [
    (("new", "method", "Bad-Name"), "lowercase letters, digits and '_'"),
    (("new", "method", "erm"), "a method of that name exists already (builtin)"),
    (("new", "dataset", "synth_lt"), "a dataset of that name exists already"),
])
def test_new_refuses_bad_names(args: tuple[str, ...], message: str, tmp_path: Path) -> None:
    result = cli(*args, "--out", str(tmp_path / "pkg"))
    assert result.returncode == 2 and message in result.stderr
    assert not (tmp_path / "pkg").exists()


def test_new_refuses_a_folder_that_holds_files(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = cli("new", "method", "mymeth", "--out", str(tmp_path))
    assert result.returncode == 2 and "is not an empty folder" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_templates_ship_as_package_data() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "ltml_bench.scaffold" in project["tool"]["setuptools"]["packages"]
    assert project["tool"]["setuptools"]["package-data"]["ltml_bench.scaffold"] == ["templates/*.tmpl"]
    assert len(list((REPO / "ltml_bench" / "scaffold" / "templates").glob("*.tmpl"))) == 6


@pytest.mark.slow
def test_new_packages_install_editable_and_train_without_edits(tmp_path: Path) -> None:
    """new method + new dataset, `pip install -e` both into a venv that reuses this environment's
    torch (--system-site-packages), then `ltml-bench run` and the packages' own tests."""
    for kind, name in (("method", "mymeth"), ("dataset", "mydata")):
        made = cli("new", kind, name, "--out", str(tmp_path / name))
        assert made.returncode == 0, made.stderr
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    install = subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
                              "-e", str(tmp_path / "mymeth"), "-e", str(tmp_path / "mydata")],
                             capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert install.returncode == 0, install.stderr
    env = {**os.environ, **own_plugins("ltml-bench-mymeth", "ltml-bench-mydata"),
           "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)}
    env.pop("LTML_BENCH_DEBUG", None)

    def ltml(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([python, "-m", "ltml_bench", *args], capture_output=True, text=True, env=env, timeout=600)

    listed = ltml("list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    payload = json.loads(listed.stdout)
    assert {m["name"]: m["origin"] for m in payload["methods"]}["mymeth"] == "plugin 'mymeth' from distribution 'ltml-bench-mymeth'"
    assert "mydata" in {d["name"] for d in payload["datasets"]}
    run = ltml("run", "--method", "mymeth", "--epochs", "1", "--json", "--out", str(tmp_path / "runs"))
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["method"] == "mymeth"
    on_data = ltml("run", "--dataset", "mydata", "--method", "mymeth", "--epochs", "1", "--json", "--out", str(tmp_path / "runs"))
    assert on_data.returncode == 0, on_data.stderr
    assert json.loads(on_data.stdout)["dataset"] == "mydata"
    for name in ("mymeth", "mydata"):
        tests = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=tmp_path / name,
                               capture_output=True, text=True, env=env, timeout=600)
        assert tests.returncode == 0, tests.stdout + tests.stderr
