"""The README's dataset plugins, run exactly as the README prints them (the code blocks are read
from README.md, so the docs cannot drift from what works): as a `--plugin` file, and installed
through an entry point of a distribution."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, cli, own_plugins

README = REPO / "README.md"


def readme_block(first_line: str) -> str:
    """The README's fenced python block whose first line is `first_line`."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    found = [b for b in blocks if b.startswith(first_line)]
    assert len(found) == 1, f"README.md has {len(found)} python block(s) starting with {first_line!r}"
    return found[0]


def test_in_memory_dataset_plugin_as_a_file(tmp_path: Path) -> None:
    plugin = tmp_path / "blobs_lt.py"
    plugin.write_text(readme_block("# blobs_lt.py"))
    listed = cli("list", "--format", "json", "--plugin", str(plugin))
    assert listed.returncode == 0, listed.stderr
    assert "blobs_lt" in {d["name"] for d in json.loads(listed.stdout)["datasets"]}
    run = cli("run", "--plugin", str(plugin), "--dataset", "blobs_lt", "--method", "erm", "--epochs", "1", "--json",
              "--set", "train_images=200", "--set", "test_images=100", "--out", str(tmp_path / "runs"))
    assert run.returncode == 0, run.stderr
    record = json.loads(run.stdout)
    assert record["dataset"] == "blobs_lt" and len(record["class_names"]) == 8
    assert 0 <= record["map"]["all"] <= 100


def test_in_memory_dataset_plugin_through_an_entry_point(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "blobs_lt.py").write_text(readme_block("# blobs_lt.py"))
    info = site / "blobs_lt_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: blobs-lt-plugin\nVersion: 1.0\n")
    # the README's [project.entry-points."ltml_bench.datasets"] table, as pip writes it
    toml = re.search(r'\[project\.entry-points\."ltml_bench\.datasets"\]\n(.*?)\n```', README.read_text(), flags=re.S)
    assert toml is not None
    (info / "entry_points.txt").write_text("[ltml_bench.datasets]\n" + toml.group(1).replace('"', "") + "\n")
    env = {"PYTHONPATH": str(site), **own_plugins("blobs-lt-plugin")}
    listed = cli("list", "--format", "json", env=env)
    assert listed.returncode == 0, listed.stderr
    datasets = {d["name"]: d for d in json.loads(listed.stdout)["datasets"]}
    assert datasets["blobs_lt"]["origin"] == "plugin 'blobs_lt' from distribution 'blobs-lt-plugin'"
    run = cli("run", "--dataset", "blobs_lt", "--method", "erm", "--epochs", "1", "--json",
              "--set", "train_images=200", "--set", "test_images=100", "--out", str(tmp_path / "runs"), env=env)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["dataset"] == "blobs_lt"


def test_image_file_dataset_plugin(tmp_path: Path) -> None:
    from PIL import Image

    plugin = tmp_path / "my_photos.py"
    plugin.write_text(readme_block("# my_photos.py"))
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    table = {}
    for i in range(16):
        Image.fromarray(rng.integers(0, 256, (20 + i, 24, 3), dtype=np.uint8)).save(photos / f"img{i}.png")
        table[f"img{i}.png"] = ["cat"] if i % 3 else ["cat", "dog"]
    (photos / "labels.json").write_text(json.dumps(table))
    run = cli("run", "--plugin", str(plugin), "--dataset", "my_photos", "--method", "erm", "--epochs", "1", "--json",
              "--set", f"folder={photos}", "--backbone", "ltml_cifar_resnet_small", "--no-pretrained",
              "--set", "image_size=16", "--set", "neck_dim=8", "--out", str(tmp_path / "runs"))
    assert run.returncode == 0, run.stderr
    record = json.loads(run.stdout)
    assert record["class_names"] == ["cat", "dog"] and len(record["per_class_ap"]) == 2
    checked = cli("data", "check", "my_photos", "--plugin", str(plugin), "--set", f"folder={photos}", "--json")
    assert checked.returncode == 0, checked.stderr
    report = json.loads(checked.stdout)
    assert report["dataset"] == "my_photos" and report["class_names"] == ["cat", "dog"]
    assert report["figures"]["train_images"] + report["figures"]["test_images"] == 16
    missing = cli("run", "--plugin", str(plugin), "--dataset", "my_photos", "--set", f"folder={tmp_path}",
                  "--out", str(tmp_path / "runs"))
    assert missing.returncode == 2 and "labels.json does not exist" in missing.stderr


@pytest.mark.parametrize("signature", ["options", "options, extra=1", "*, other=1"])
def test_a_builder_with_the_wrong_signature_gets_one_line(tmp_path: Path, signature: str) -> None:
    plugin = tmp_path / "bad_dataset.py"
    plugin.write_text(textwrap.dedent(
        f"""
        from ltml_bench.registry import DatasetSpec, register_dataset

        def build({signature}):
            raise AssertionError("never called")

        register_dataset(DatasetSpec(name="bad", title="Bad", summary="x", build=build, options={{"size": 8}}))
        """
    ))
    result = cli("list", "--plugin", str(plugin))
    assert result.returncode == 2
    line = result.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert f"build({signature})" in line and "expected def build(size=8) -> DatasetBundle" in line


def test_a_builder_returning_something_else_gets_one_line(tmp_path: Path) -> None:
    plugin = tmp_path / "odd_dataset.py"
    plugin.write_text(textwrap.dedent(
        """
        from ltml_bench.registry import DatasetSpec, register_dataset

        register_dataset(DatasetSpec(name="odd", title="Odd", summary="x", build=lambda **options: [1, 2]))
        """
    ))
    result = cli("run", "--plugin", str(plugin), "--dataset", "odd", "--method", "erm", "--out", str(tmp_path / "runs"))
    assert result.returncode == 2
    assert "build(**options) returned list, expected a ltml_bench.data.DatasetBundle" in result.stderr
    assert not (tmp_path / "runs" / "odd").exists()  # nothing left behind
