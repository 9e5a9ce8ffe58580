"""`ltml-bench show NAME`, `list --format json` (the same facts), `ltml_bench.load_plugin` and
`ltml_bench.describe`, and API errors that name arguments as Python spells them."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from conftest import cli

import ltml_bench
from ltml_bench.errors import UserError
from ltml_bench.registry import METHODS


def test_show_hmt_prints_its_hyper_parameters_defaults_and_sweep() -> None:
    result = cli("show", "hmt")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\W*(lam|eta|tau_h|tau_m)\b.*$", text, flags=re.M)}
    assert set(rows) == {"lam", "eta", "tau_h", "tau_m"}
    assert "2.0" in rows["lam"] and "0.0, 0.5, 1.0, 2.0, 4.0, 8.0" in rows["lam"]
    assert "0.5" in rows["eta"] and "0.25, 0.5, 0.75" in rows["eta"]
    assert "100" in rows["tau_h"] and "20" in rows["tau_m"]
    for fact in ("paper: HMT-Net", "formula: sigma_g = lambda", "sampler: class_aware", "78.92", "53.80",
                 "ltml_bench.heads.hmt:HMTHead", "methods/hmt.py"):
        assert fact in text, fact


def test_show_json_per_dataset_values_and_list_json_carry_the_same_facts() -> None:
    shown = cli("show", "db_focal", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    facts = json.loads(shown.stdout)["method"]
    mu = next(p for p in facts["hyperparameters"] if p["name"] == "mu")
    assert mu == {"name": "mu", "of": "loss", "default": 0.3, "per_dataset": {"coco_lt": 0.2, "voc_lt": 0.3}, "sweep": [0.1, 0.2, 0.3]}
    assert facts["reported"]["voc_lt"] == {"head": 72.67, "middle": 83.17, "tail": 78.75, "all": 78.29}
    assert facts["sampler"] == "class_aware" and facts["paper"] == METHODS.get("db_focal").paper
    listed = cli("list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    payload = json.loads(listed.stdout)
    assert next(m for m in payload["methods"] if m["name"] == "db_focal") == facts
    synth = next(d for d in payload["datasets"] if d["name"] == "synth_lt")
    assert synth["options"] == {"data_seed": 0} and synth["recipe"]["backbone"] == "test_resnet"
    assert synth["recipe_resampled"]["epochs"] == 8 and synth["code"]["module"] == "ltml_bench.datasets.synth_lt"


def test_show_a_dataset_and_an_unknown_name() -> None:
    csv = cli("show", "csv")
    assert csv.returncode == 0 and "dataset `csv`" in csv.stdout and "label_sep=" in csv.stdout and "backbone=resnet50" in csv.stdout
    unknown = cli("show", "hmtt")
    assert unknown.returncode == 2
    assert "no method or dataset is called 'hmtt'. Did you mean 'hmt'?" in unknown.stderr
    bad = cli("show", "hmt", "--format", "xml")
    assert bad.returncode == 2 and "choose rich or json" in bad.stderr


def test_load_plugin_and_describe_from_python(tmp_path: Path) -> None:
    plugin = tmp_path / "py_plugin_method.py"
    plugin.write_text(textwrap.dedent(
        """
        from ltml_bench.registry import MethodSpec, register_method

        register_method(MethodSpec(name="py_focal", title="Py focal", paper="test", summary="focal, gamma 1",
                                   loss="focal", loss_params={"gamma": 1.0}, sweep={"gamma": (0.5, 1.0)},
                                   formula="L = (1 - p_t)^gamma BCE"))
        """
    ))
    try:
        ltml_bench.load_plugin(plugin)
        assert "py_focal" in ltml_bench.list_methods()
        facts = ltml_bench.describe("py_focal")["method"]
        assert facts["formula"] == "L = (1 - p_t)^gamma BCE" and facts["origin"] == "local plugin"
        assert facts["hyperparameters"] == [{"name": "gamma", "of": "loss", "default": 1.0, "per_dataset": {}, "sweep": [0.5, 1.0]}]
    finally:
        METHODS.unregister("py_focal")
    with pytest.raises(UserError, match=r"^load_plugin\('.*nothere\.py'\): not a readable \.py file"):
        ltml_bench.load_plugin(tmp_path / "nothere.py")


@pytest.mark.parametrize("kwargs, python_spelling", [
    ({"settings": {"learning_rate": 0.1}}, r"^settings\['learning_rate'\]: unknown key for method 'hmt'"),
    ({"settings": {"lr": "fast"}}, r"^settings\['lr'\]='fast': not a valid float .*e\.g\. settings=\{'lr': 0\.02\}"),
    ({"out": "FILE"}, r"^out='.*afile' is a file, not a folder"),
])
def test_api_errors_name_arguments_as_python_spells_them(kwargs: dict, python_spelling: str, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    if kwargs.get("out") == "FILE":
        kwargs = {"out": tmp_path / "afile"}
    with pytest.raises(UserError, match=python_spelling) as info:
        ltml_bench.run(method="hmt", dataset="synth_lt", **kwargs)
    assert "--set" not in str(info.value) and "--out" not in str(info.value)


def test_api_device_and_runs_errors_speak_python(tmp_path: Path) -> None:
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(UserError, match=r"^device='cuda': CUDA is not available on this machine; use device='cpu'$"):
            ltml_bench.run(device="cuda", out=tmp_path)
    with pytest.raises(UserError, match=r"^runs='.*nowhere' does not exist"):
        ltml_bench.table(runs=tmp_path / "nowhere")
    # the command line keeps its own spelling
    cli_error = cli("run", "--set", "learning_rate=0.1")
    assert cli_error.returncode == 2 and "--set learning_rate: unknown key" in cli_error.stderr
