"""voc_lt and coco_lt on generated trees in the real formats: builders, errors, `data check`, one epoch.

Trees are written into tmp folders by `lt_trees` (VOC XML + ImageSets + JPEGs; a COCO instances
JSON that pycocotools loads). The published-scale trees reuse the real published id lists and
labels from ../shared/reference (skipped when that folder is absent) with 8 x 8 JPEGs, so that
`data check` can be held to the published figures without VOC or COCO on disk.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import lt_trees
import numpy as np
import pytest
import torch
from conftest import cli

from ltml_bench import api
from ltml_bench.cli.app import main
from ltml_bench.data.images import apply_photometric, crop_box, photometric_params, resize
from ltml_bench.errors import DataError
from ltml_bench.registry import METHODS, get_dataset

METHOD = "db_focal" if "db_focal" in METHODS.names() else "erm"
ONE_THREAD = {"OMP_NUM_THREADS": "1"}  # tiny models on a shared 2-core machine: threads only contend


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def build_voc(**options: Any):
    return get_dataset("voc_lt").build(**options)


def build_coco(**options: Any):
    return get_dataset("coco_lt").build(**options)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`ltml-bench ARGS` in-process: (exit status, stdout, stderr)."""
    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture()
def voc(tmp_path: Path):
    return lt_trees.tiny_voc(tmp_path / "voc")


# -- VOC -----------------------------------------------------------------------------------------


def test_voc_builder_labels_and_items(voc) -> None:
    root, split, trainval = voc
    bundle = build_voc(data_root=str(root), split_file=str(split), image_size=32)
    assert bundle.class_names == lt_trees.VOC_CLASSES
    assert bundle.train.ids == split.read_text().split()  # split file order kept
    assert len(bundle.test) == 10
    first = bundle.train.ids[1]
    names = {lt_trees.VOC_CLASSES[k] for k in np.flatnonzero(bundle.train.labels[1])}
    assert names == set(trainval[first]) | {"sheep"}  # the difficult sheep counts
    assert bundle.info["split"] == "published" and bundle.info["published"] is False
    torch.manual_seed(3)
    x, y = bundle.train.dataset[0]
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32 and y.dtype == torch.float32 and y.shape == (20,)
    torch.manual_seed(3)
    x_again, _ = bundle.train.dataset[0]
    assert torch.equal(x, x_again)  # augmentation draws from torch's seeded generator
    t1, _ = bundle.test.dataset[0]
    t2, _ = bundle.test.dataset[0]
    assert torch.equal(t1, t2) and t1.shape == (3, 32, 32)
    assert abs(float(t1.mean())) < 3  # normalised
    view = bundle.train.dataset.eval_view()  # test transform on training images (validation carving)
    v1, _ = view[0]
    v2, _ = view[0]
    assert torch.equal(v1, v2) and bundle.train.dataset.train


def test_voc_root_can_be_the_devkit_and_env(voc, monkeypatch: pytest.MonkeyPatch) -> None:
    root, split, _ = voc
    bundle = build_voc(data_root=str(root / "VOCdevkit"), split_file=str(split), image_size=16)
    assert len(bundle.train) == 12
    monkeypatch.setenv("LTML_BENCH_DATA", str(root))
    assert len(build_voc(split_file=str(split)).train) == 12


def test_voc_pareto_split(voc) -> None:
    root, _, trainval = voc
    bundle = build_voc(data_root=str(root), split="pareto", split_seed=1, image_size=16)
    assert set(bundle.train.ids) <= set(trainval) and bundle.info["split"] == "pareto"
    with pytest.raises(DataError, match="takes no split_file"):
        build_voc(data_root=str(root), split="pareto", split_file=str(root / "ids.txt"))
    with pytest.raises(DataError, match="choose 'published'"):
        build_voc(data_root=str(root), split="bogus")


def test_voc_errors(voc, tmp_path: Path) -> None:
    root, split, _ = voc
    with pytest.raises(DataError, match="data root .* does not exist"):
        build_voc(data_root=str(tmp_path / "nowhere"), split_file=str(split))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="holds no VOCdevkit"):
        build_voc(data_root=str(empty), split_file=str(split))
    other = tmp_path / "ids_other.txt"
    other.write_text("2008_000000\n2012_999999\n")
    with pytest.raises(DataError, match=r"1 id\(s\) not in VOC2012 trainval.*2012_999999"):
        build_voc(data_root=str(root), split_file=str(other))
    kit = root / "VOCdevkit"
    (kit / "VOC2012/JPEGImages/2008_000003.jpg").unlink()
    with pytest.raises(DataError, match="2008_000003.jpg is listed but missing"):
        build_voc(data_root=str(root), split_file=str(split))
    (kit / "VOC2012/JPEGImages/2008_000003.jpg").write_bytes(lt_trees.jpeg_bytes())
    xml = kit / "VOC2012/Annotations/2008_000004.xml"
    xml.unlink()
    with pytest.raises(DataError, match="annotation .*2008_000004.xml is missing"):
        build_voc(data_root=str(root), split_file=str(split))
    xml.write_text(lt_trees.voc_xml("2008_000004", [("unicorn", False)]))
    with pytest.raises(DataError, match="'unicorn' is not one of the 20 VOC classes"):
        build_voc(data_root=str(root), split_file=str(split))
    xml.write_text('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "person">]><annotation><object><name>&e;</name></object></annotation>')
    with pytest.raises(DataError, match="DOCTYPE/ENTITY"):
        build_voc(data_root=str(root), split_file=str(split))
    xml.write_text("<annotation><object>")
    with pytest.raises(DataError, match="not valid XML"):
        build_voc(data_root=str(root), split_file=str(split))
    xml.write_text(lt_trees.voc_xml("2008_000004", [("cat", False)]))
    (kit / "VOC2012/ImageSets/Main/trainval.txt").unlink()
    with pytest.raises(DataError, match="trainval.txt does not exist"):
        build_voc(data_root=str(root), split_file=str(split))


def test_unreadable_image_is_named(voc, capsys: pytest.CaptureFixture[str]) -> None:
    root, split, _ = voc
    broken = root / "VOCdevkit/VOC2012/JPEGImages/2008_000002.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    bundle = build_voc(data_root=str(root), split_file=str(split), image_size=16)
    index = bundle.train.ids.index("2008_000002")
    with pytest.raises(DataError, match="2008_000002.jpg is unreadable"):
        bundle.train.dataset[index]
    code, out, _ = run_cli(capsys, "data", "check", "voc_lt", "--data-root", str(root), "--set", f"split_file={split}", "--json")
    report = json.loads(out)
    assert code == 1 and not report["ok"]
    assert report["unreadable"][0]["path"] == str(broken)


def test_data_check_tiny_tree(voc, capsys: pytest.CaptureFixture[str]) -> None:
    root, split, _ = voc
    code, out, _ = run_cli(capsys, "data", "check", "voc_lt", "--data-root", str(root), "--set", f"split_file={split}")
    assert code == 0, out
    assert "not the published id list" in out and "training images 12" in out and "OK" in out
    code, out, err = run_cli(capsys, "data", "check", "voc_lt", "--data-root", str(root), "--set", "nonsense=1")
    assert code == 2 and "nonsense" in err


# -- the published-scale trees ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def published_voc(tmp_path_factory: pytest.TempPathFactory, reference_dir: Path) -> Path:
    root = tmp_path_factory.mktemp("pubvoc")
    with open(reference_dir / "voc_lt_train_image_labels.csv") as handle:
        train = {row["image_id"]: row["labels"].split() for row in csv.DictReader(handle)}
    test = {f"{i:06d}": [lt_trees.VOC_CLASSES[i % 20]] for i in range(4952)}
    return lt_trees.make_voc_tree(root, train, test, image=lt_trees.jpeg_bytes(8, 8))


def test_data_check_matches_published_voc(published_voc: Path, reference_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = reference_dir / "db_loss_appendix/voc_longtail2012/img_id.txt"
    code, out, _ = run_cli(capsys, "data", "check", "voc_lt", "--data-root", str(published_voc), "--set", f"split_file={ids}")
    assert code == 0, out
    assert "training images 1,142, max 775, min 4, groups head/middle/tail 6/6/8" in out
    assert "OK: matches the published split" in out
    code, out, _ = run_cli(capsys, "data", "check", "voc_lt", "--data-root", str(published_voc), "--set", f"split_file={ids}", "--json", "--no-images")
    report = json.loads(out)
    assert report["ok"] and report["compared_with_published"] and report["figures"]["groups"] == [6, 6, 8]
    assert report["class_freq_file"].endswith("class_freq.pkl")  # rows compared with the published labels


def test_data_check_flags_a_difference(published_voc: Path, reference_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = reference_dir / "db_loss_appendix/voc_longtail2012/img_id.txt"
    first = ids.read_text().split()[0]
    xml = published_voc / f"VOCdevkit/VOC2012/Annotations/{first}.xml"
    original = xml.read_bytes()
    xml.write_text(lt_trees.voc_xml(first, [("cow", False)]))  # one more cow, labels changed
    try:
        code, out, err = run_cli(capsys, "data", "check", "voc_lt", "--data-root", str(published_voc), "--set", f"split_file={ids}", "--no-images")
    finally:
        xml.write_bytes(original)
    assert code == 1
    assert "DIFFERS" in out and "labelled differently" in out and first in out and "FAILED" in out
    assert "min_count: got 5, the published split has 4" in out
    assert len(err.strip().splitlines()) == 1 and "problem(s)" in err


@pytest.fixture(scope="module")
def published_coco(tmp_path_factory: pytest.TempPathFactory, reference_dir: Path) -> Path:
    root = tmp_path_factory.mktemp("pubcoco")
    with open(reference_dir / "coco_lt_train_image_labels.csv") as handle:
        train = {int(row["image_id"]): row["labels"].split() for row in csv.DictReader(handle)}
    val = {i: ([lt_trees.COCO_NAMES[i % 80]] if i % 100 else []) for i in range(1, 5001)}
    return lt_trees.make_coco_tree(root, train, val, image=lt_trees.jpeg_bytes(8, 8))


def test_data_check_matches_published_coco(published_coco: Path, reference_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = reference_dir / "db_loss_appendix/coco_longtail2017/img_id.pkl"
    code, out, err = run_cli(capsys, "data", "check", "coco_lt", "--data-root", str(published_coco), "--set", f"split_file={ids}", "--json")
    report = json.loads(out)  # pycocotools' messages went to stderr, not into the JSON
    assert code == 0, report["problems"]
    assert report["figures"] == {"train_images": 1909, "max_count": 1128, "min_count": 6, "groups": [22, 33, 25],
                                 "test_images": 5000, "num_classes": 80}
    assert report["compared_with_published"] and report["class_names"][:3] == ["person", "bicycle", "car"]
    assert "traffic_light" in report["class_names"]


# -- COCO ----------------------------------------------------------------------------------------


@pytest.fixture()
def coco(tmp_path: Path):
    train = {i: [lt_trees.COCO_NAMES[i % 80], "person"] for i in range(1, 13)}
    train[13] = ["dog"]  # too small: 20 px high
    train[14] = []  # only ignorable annotations below
    val = {100 + i: [lt_trees.COCO_NAMES[(3 * i) % 80]] for i in range(8)}
    val[200] = []  # no label: kept in the test set
    extra = [
        {"image_id": 14, "category_id": 2, "bbox": [0, 0, 10, 10], "area": 0.0, "iscrowd": 0},  # area 0: ignored
        {"image_id": 14, "category_id": 3, "bbox": [0, 0, 0.5, 10], "area": 5.0, "iscrowd": 0},  # < 1 px: ignored
        {"image_id": 14, "category_id": 90, "bbox": [0, 0, 10, 10], "area": 100.0, "iscrowd": 1},  # crowd: kept
    ]
    root = lt_trees.make_coco_tree(tmp_path / "coco", train, val, sizes={13: (50, 20)}, extra_train_annotations=extra)
    split = tmp_path / "coco_ids.txt"
    split.write_text("".join(f"{i}\n" for i in [1, 2, 3, 4, 5, 6, 7, 8, 14]))
    return root, split


def test_coco_builder_rules(coco, capsys: pytest.CaptureFixture[str]) -> None:
    root, split = coco
    bundle = build_coco(data_root=str(root), split_file=str(split), image_size=24)
    assert capsys.readouterr().out == ""  # pycocotools prints to stderr only
    assert len(bundle.class_names) == 80 and bundle.class_names[0] == "person" and bundle.class_names[-1] == "toothbrush"
    row = bundle.train.ids.index("14")
    assert [bundle.class_names[k] for k in np.flatnonzero(bundle.train.labels[row])] == ["toothbrush"]  # crowd kept
    assert len(bundle.test) == 9 and bundle.test.labels[bundle.test.ids.index("200")].sum() == 0
    x, y = bundle.train.dataset[0]
    assert x.shape == (3, 24, 24) and y.shape == (80,)
    pareto = build_coco(data_root=str(root), split="pareto", image_size=24)
    assert "13" not in pareto.train.ids and pareto.info["train_pool_size"] == 13


def test_coco_errors(coco, tmp_path: Path) -> None:
    root, split = coco
    small = tmp_path / "small.txt"
    small.write_text("1\n13\n")
    with pytest.raises(DataError, match="under 32 px"):
        build_coco(data_root=str(root), split_file=str(small))
    unknown = tmp_path / "unknown.txt"
    unknown.write_text("1\n999999\n")
    with pytest.raises(DataError, match=r"not in COCO train2017.*999999"):
        build_coco(data_root=str(root), split_file=str(unknown))
    words = tmp_path / "words.txt"
    words.write_text("2008_000001\n")
    with pytest.raises(DataError, match="not a COCO image id"):
        build_coco(data_root=str(root), split_file=str(words))
    (root / "val2017/000000000100.jpg").unlink()
    with pytest.raises(DataError, match="000000000100.jpg is listed but missing"):
        build_coco(data_root=str(root), split_file=str(split))
    train_json = root / "annotations/instances_train2017.json"
    payload = json.loads(train_json.read_text())
    payload["categories"] = payload["categories"][:79]
    payload["annotations"] = [a for a in payload["annotations"] if a["category_id"] != 90]
    train_json.write_text(json.dumps(payload))
    with pytest.raises(DataError, match="79 categories"):
        build_coco(data_root=str(root), split_file=str(split))
    train_json.write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        build_coco(data_root=str(root), split_file=str(split))
    train_json.unlink()
    with pytest.raises(DataError, match="instances_train2017.json does not exist"):
        build_coco(data_root=str(root), split_file=str(split))
    with pytest.raises(DataError, match="data root .* does not exist"):
        build_coco(data_root=str(tmp_path / "nowhere"))


# -- one epoch ------------------------------------------------------------------------------------


def run_one_epoch(dataset: str, root: Path, split: Path, out: Path) -> dict[str, Any]:
    """api.run as the brief states it, on the small test backbone from scratch: with no pretrained
    weights the recipe's frozen stages and frozen BatchNorm are dropped (all layers train)."""
    return api.run(method=METHOD, dataset=dataset, settings={"data_root": str(root), "split_file": str(split), "image_size": 32,
                   "num_workers": 0}, backbone="ltml_cifar_resnet_small", pretrained=False, epochs=1, out=out)


@pytest.mark.parametrize("dataset", ["voc_lt", "coco_lt"])
def test_one_training_epoch(dataset: str, voc, coco, tmp_path: Path) -> None:
    root, split = (voc[0], voc[1]) if dataset == "voc_lt" else coco
    record = run_one_epoch(dataset, root, split, tmp_path / "runs")
    assert record["dataset"] == dataset and record["num_train_images"] == len(split.read_text().split())
    assert set(record["map"]) == {"head", "middle", "tail", "all"} and record["map"]["all"] is not None


# -- command contracts (subprocess) ---------------------------------------------------------------


def test_cli_run_contract(voc, tmp_path: Path) -> None:
    root, split, _ = voc
    args = ["run", "--method", "db_focal", "--dataset", "voc_lt", "--data-root", str(root), "--set", f"split_file={split}",
            "--backbone", "ltml_cifar_resnet_small", "--no-pretrained", "--epochs", "1", "--set", "image_size=32",
            "--json", "--out", str(tmp_path / "runs")]
    proc = cli(*args, env=ONE_THREAD)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert set(record["map"]) >= {"head", "middle", "tail", "all"}
    assert record["dataset"] == "voc_lt" and record["method"] == "db_focal"


def test_cli_run_without_weights_offline(voc, tmp_path: Path) -> None:
    root, split, _ = voc
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "TORCH_HOME": str(tmp_path / "torch"), **ONE_THREAD}
    proc = cli("run", "--method", "erm", "--dataset", "voc_lt", "--data-root", str(root), "--set", f"split_file={split}",
               "--backbone", "resnet18", "--epochs", "1", "--set", "image_size=32", "--out", str(tmp_path / "runs"), env=env, timeout=1200)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "weights_file" in lines[0] and "--no-pretrained" in lines[0]


def test_cli_data_root_errors(voc, tmp_path: Path) -> None:
    proc = cli("data", "check", "voc_lt", "--data-root", str(tmp_path / "nowhere"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "does not exist" in proc.stderr
    proc = cli("run", "--dataset", "synth_lt", "--data-root", str(tmp_path), "--epochs", "1")
    assert proc.returncode == 2 and "reads no files" in proc.stderr


# -- augmentation semantics -----------------------------------------------------------------------


def test_photometric_and_crop_semantics() -> None:
    rng = np.random.default_rng(0)
    img = rng.uniform(0, 255, size=(30, 40, 3)).astype(np.float32)
    np.testing.assert_allclose(apply_photometric(img, {"mode": 0}), img, atol=1e-3)  # nothing drawn: identity
    np.testing.assert_allclose(apply_photometric(img, {"mode": 0, "saturation": 1.0, "hue": 0.0}), img, atol=1e-2)
    np.testing.assert_allclose(apply_photometric(img, {"mode": 1, "brightness": 10.0}), img + 10, atol=1e-3)
    np.testing.assert_allclose(apply_photometric(img, {"mode": 0, "swap": np.array([2, 1, 0])}), img[..., ::-1])
    seen_modes = set()
    for seed in range(200):
        p = photometric_params(np.random.default_rng(seed))
        seen_modes.add(p["mode"])
        assert -32 <= p.get("brightness", 0) <= 32 and 0.5 <= p.get("contrast", 1) <= 1.5
        assert 0.5 <= p.get("saturation", 1) <= 1.5 and -18 <= p.get("hue", 0) <= 18
        top, bottom, left, right = crop_box(300, 400, np.random.default_rng(seed))
        h, w = bottom - top, right - left
        assert 0.8 * 300 - 1 <= h <= 300 and 0.8 * 400 - 1 <= w <= 400 and bottom <= 300 and right <= 400
    assert seen_modes == {0, 1}
    assert tuple(resize(img, 16).shape) == (3, 16, 16)


def test_unreachable_hub_fails_fast_without_hf_hub_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No route to huggingface.co and HF_HUB_OFFLINE unset: the hub is asked for its cache only
    (no minute of retries), the error is the one line, and the hub's setting is restored."""
    import socket

    import huggingface_hub.constants as hub

    from ltml_bench.errors import UserError
    from ltml_bench.training import model

    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    for key in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(key, raising=False)

    attempts: list[tuple] = []

    def no_route(*args, **kwargs):
        attempts.append(args)
        raise OSError(-2, "Name or service not known")

    monkeypatch.setattr(socket, "create_connection", no_route)
    assert not model.hub_reachable()
    import timm

    offline_while_loading: list[bool] = []
    create_model = timm.create_model

    def spy(*args, **kwargs):
        offline_while_loading.append(hub.HF_HUB_OFFLINE)
        return create_model(*args, **kwargs)

    monkeypatch.setattr(timm, "create_model", spy)
    attempts.clear()
    with pytest.raises(UserError, match="weights_file"):
        model.create_backbone("resnet18", pretrained=True)
    # fast without timing it: the hub was in offline mode while timm loaded, and nothing was retried
    assert offline_while_loading == [True] and len(attempts) <= 1
    assert hub.HF_HUB_OFFLINE is False
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")  # a proxy may reach what DNS cannot
    assert model.hub_reachable()
