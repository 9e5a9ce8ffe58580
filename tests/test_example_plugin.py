"""The example plugin package: installed into a temporary folder (never the environment), found
through its entry points, its method and its dataset listed and run by the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import FAST, REPO, cli, own_plugins

PLUGIN = REPO / "examples" / "ltml-bench-example-plugin"


def test_example_plugin_installs_lists_and_runs(tmp_path: Path) -> None:
    import shutil

    source = tmp_path / "src"  # a copy: building leaves build/ and *.egg-info next to the sources
    shutil.copytree(PLUGIN, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert install.returncode == 0, install.stderr
    env = {"PYTHONPATH": os.pathsep.join([str(target), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
           **own_plugins("ltml-bench-example-plugin")}
    listed = cli("list", "--format", "json", env=env)
    assert listed.returncode == 0, listed.stderr
    methods = {m["name"]: m for m in json.loads(listed.stdout)["methods"]}
    assert "ltml-bench-example-plugin" in methods["sq_hinge_example"]["origin"]
    settings = [f"--set={k}={v}" for k, v in {**FAST, "sampler": "class_aware", "epoch_reduce": 128, "margin": 0.5}.items()]
    run = cli("run", "--method", "sq_hinge_example", "--epochs", "1", "--json", "--out", str(tmp_path / "runs"), *settings, env=env)
    assert run.returncode == 0, run.stderr
    record = json.loads(run.stdout)
    assert record["method"] == "sq_hinge_example" and 0 <= record["map"]["all"] <= 100
    datasets = {d["name"]: d for d in json.loads(listed.stdout)["datasets"]}
    assert "ltml-bench-example-plugin" in datasets["stripes_example"]["origin"]
    trained = cli("run", "--dataset", "stripes_example", "--method", "erm", "--epochs", "1", "--json",
                  "--set", "train_images=200", "--set", "test_images=100", "--out", str(tmp_path / "runs"), env=env)
    assert trained.returncode == 0, trained.stderr
    on_stripes = json.loads(trained.stdout)
    assert on_stripes["dataset"] == "stripes_example" and len(on_stripes["class_names"]) == 6
    # without the folder on the path the method does not exist
    assert cli("run", "--method", "sq_hinge_example", "--out", str(tmp_path / "runs")).returncode == 2
