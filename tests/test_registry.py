"""The registry: registration, lookup errors, entry-point plugins and `--plugin` files."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from conftest import cli, own_plugins

from ltml_bench.errors import RegistryError
from ltml_bench.registry import DATASETS, METHODS, MethodSpec, Registry, check_dataset_spec, check_method_spec, get_method

EXPECTED_FIELDS = ("name", "title", "paper", "summary", "loss")


def _spec(name: str) -> MethodSpec:
    return MethodSpec(name=name, title=name.upper(), paper="test", summary="test", loss="erm")


def test_duplicate_name_raises() -> None:
    registry: Registry[MethodSpec] = Registry("method", "ltml_bench.methods", ())
    registry.register(_spec("alpha"))
    with pytest.raises(RegistryError, match="already registered"):
        registry.register(_spec("alpha"))


def test_unknown_name_suggests_close_names() -> None:
    with pytest.raises(RegistryError) as info:
        get_method("hmtt")
    message = str(info.value)
    assert "unknown method 'hmtt'" in message
    assert "'hmt'" in message and "Valid:" in message


@pytest.mark.parametrize("name", METHODS.names())
def test_every_registered_method_is_well_formed(name: str) -> None:
    spec = get_method(name)
    check_method_spec(spec)  # the registry-wide checks a plugin's own tests run too (`ltml-bench new`)
    for field in EXPECTED_FIELDS:
        assert getattr(spec, field), f"{name}: empty {field}"
    assert spec.name == name == name.lower()
    assert spec.sampler in (None, "class_aware")
    overlap = set(spec.loss_params) & set(spec.head_params)
    assert not overlap, f"{name}: a key is both a loss and a head parameter: {overlap}"
    for dataset, values in spec.dataset_params.items():
        unknown = set(values) - set(spec.loss_params) - set(spec.head_params)
        assert not unknown, f"{name}: dataset_params[{dataset}] has unknown keys {unknown}"


@pytest.mark.parametrize("name", DATASETS.names())
def test_every_registered_dataset_is_well_formed(name: str) -> None:
    spec = DATASETS.get(name)
    check_dataset_spec(spec)
    assert spec.name == name and callable(spec.build) and spec.summary


@pytest.mark.parametrize("change, message", [
    ({"title": ""}, "empty title"),
    ({"sampler": "balanced"}, "sampler 'balanced'"),
    ({"loss_params": {"gamma": 1.0}, "sweep": {"beta": (1, 2)}}, "sweep has keys that are neither hyper-parameters nor harness settings: ['beta']"),
    ({"loss_params": {"gamma": 1.0}, "sweep": {"gamma": [1, 2]}}, "must be a non-empty tuple"),
    ({"loss_params": {"a": 1}, "head_params": {"a": 2}}, "both loss and head parameters"),
    ({"reported": {"voc_lt": (1.0, 2.0)}}, "(head, middle, tail, all)"),
    ({"loss": "no_such_module_xyz:Loss"}, "does not import"),
])
def test_method_checks_name_the_problem(change: dict, message: str) -> None:
    from dataclasses import replace

    with pytest.raises(RegistryError) as info:
        check_method_spec(replace(_spec("probe"), **change))
    assert message in str(info.value)


def test_builtin_names_cover_the_foundation() -> None:
    assert {"erm", "hmt"} <= set(METHODS.names())
    assert "synth_lt" in DATASETS.names()


PLUGIN_DISTS = ("good-ltml-plugin", "broken-ltml-plugin", "clashing-ltml-plugin")


def _write_dist(site: Path, dist: str, entry_points: str) -> None:
    info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


@pytest.fixture()
def plugin_site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    (site / "good_plugin.py").write_text(textwrap.dedent(
        """
        from ltml_bench.registry import MethodSpec

        def spec():
            return MethodSpec(name="bce_plugin", title="BCE plugin", paper="a test plugin",
                              summary="plain BCE registered from an installed distribution", loss="erm")

        def clash():
            return MethodSpec(name="erm", title="fake ERM", paper="x", summary="x", loss="erm")
        """
    ))
    (site / "broken_plugin.py").write_text("raise ImportError('this plugin is broken on purpose')\n")
    _write_dist(site, "good-ltml-plugin", "[ltml_bench.methods]\nbce_plugin = good_plugin:spec\n")
    _write_dist(site, "broken-ltml-plugin", "[ltml_bench.methods]\nbroken_method = broken_plugin:spec\n")
    _write_dist(site, "clashing-ltml-plugin", "[ltml_bench.methods]\nerm = good_plugin:clash\n")
    return site


def test_installed_plugins_good_broken_and_clashing(plugin_site: Path) -> None:
    result = cli("list", "--format", "json", env={"PYTHONPATH": str(plugin_site), **own_plugins(*PLUGIN_DISTS)})
    assert result.returncode == 0, result.stderr
    listed = {m["name"]: m for m in json.loads(result.stdout)["methods"]}
    assert listed["bce_plugin"]["origin"].startswith("plugin 'bce_plugin' from distribution 'good-ltml-plugin'")
    assert "broken_method" not in listed
    assert "broken-ltml-plugin" in result.stderr and "failed to import" in result.stderr
    assert listed["erm"]["origin"] == "builtin" and listed["erm"]["title"] == "ERM"
    assert "clashing-ltml-plugin" in result.stderr and "built-in" in result.stderr


def test_plugins_are_not_imported_until_needed(plugin_site: Path) -> None:
    code = (
        "import sys; from ltml_bench.registry import METHODS; names = METHODS.names(); "
        "assert 'bce_plugin' in names and 'broken_method' in names; "
        "assert 'good_plugin' not in sys.modules and 'broken_plugin' not in sys.modules; "
        "METHODS.get('bce_plugin'); assert 'good_plugin' in sys.modules; print('ok')"
    )
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=str(plugin_site), **own_plugins(*PLUGIN_DISTS))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_discovery_can_be_switched_off(plugin_site: Path) -> None:
    result = cli("list", "--format", "json", env={"PYTHONPATH": str(plugin_site), **own_plugins(*PLUGIN_DISTS), "LTML_BENCH_NO_PLUGINS": "1"})
    assert result.returncode == 0
    assert "bce_plugin" not in {m["name"] for m in json.loads(result.stdout)["methods"]}


def test_plugin_file_registers_a_method(tmp_path: Path) -> None:
    plugin = tmp_path / "my_method.py"
    plugin.write_text(textwrap.dedent(
        """
        from ltml_bench.registry import MethodSpec, register_method

        register_method(MethodSpec(name="my_focal", title="My focal", paper="me", summary="focal, gamma 1",
                                   loss="focal", loss_params={"gamma": 1.0, "scale": 1.0}))
        """
    ))
    result = cli("list", "--format", "json", "--plugin", str(plugin))
    assert result.returncode == 0, result.stderr
    assert "my_focal" in {m["name"] for m in json.loads(result.stdout)["methods"]}


def test_plugin_file_that_fails_is_one_clear_line(tmp_path: Path) -> None:
    plugin = tmp_path / "bad.py"
    plugin.write_text("import does_not_exist_anywhere\n")
    result = cli("list", "--plugin", str(plugin))
    assert result.returncode == 2
    assert "failed to import" in result.stderr and "Traceback" not in result.stderr
    missing = cli("list", "--plugin", str(tmp_path / "nope.py"))
    assert missing.returncode == 2 and "not a readable .py file" in missing.stderr
