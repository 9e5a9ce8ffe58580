"""The `csv` dataset: ChestX-ray14-style CSVs, column detection, splits, Pareto, malformed input."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch

from ltml_bench import api
from ltml_bench.errors import DataError
from ltml_bench.registry import get_dataset

FINDINGS = ["Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Mass", "Nodule"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def png_bytes(seed: int, size: tuple[int, int] = (24, 20)) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, size=(size[1], size[0]), dtype=np.uint8), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def chest_tree(root: Path, n: int = 30) -> tuple[Path, Path]:
    """images/*.png (grey-scale) and a Data_Entry_2017-style CSV with '|' labels and 'No Finding'."""
    images = root / "images"
    images.mkdir(parents=True)
    rows = ["Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age"]
    for i in range(n):
        name = f"{i:08d}_000.png"
        (images / name).write_bytes(png_bytes(i))
        if i % 5 == 0:
            labels = "No Finding"
        else:
            labels = "|".join(sorted({FINDINGS[i % 6], FINDINGS[(i * 7) % 6]}))
        rows.append(f"{name},{labels},0,{i},{40 + i}")
    csv_path = root / "Data_Entry_2017.csv"
    csv_path.write_text("\n".join(rows) + "\n")
    return images, csv_path


def build(**options):
    return get_dataset("csv").build(**options)


def test_chestxray_style_csv(tmp_path: Path) -> None:
    images, labels = chest_tree(tmp_path)
    bundle = build(images=str(images), labels=str(labels), label_sep="|", image_size=24, split_seed=1)
    assert bundle.class_names == sorted(FINDINGS)  # "No Finding" is no class
    assert len(bundle.train) + len(bundle.test) == 30 and len(bundle.test) == 6
    assert not set(bundle.train.ids) & set(bundle.test.ids)
    all_ids = bundle.train.ids + bundle.test.ids
    all_labels = np.concatenate([bundle.train.labels, bundle.test.labels])
    for image_id, row in zip(all_ids, all_labels):
        if int(image_id[:8]) % 5 == 0:
            assert row.sum() == 0  # No Finding -> all-zero row
        else:
            assert row.sum() >= 1
    torch.manual_seed(0)
    x, y = bundle.train.dataset[0]
    assert x.shape == (3, 24, 24) and y.shape == (6,)  # grey-scale PNG read as RGB
    again = build(images=str(images), labels=str(labels), label_sep="|", image_size=24, split_seed=1)
    assert again.test.ids == bundle.test.ids  # the split is a function of split_seed
    other = build(images=str(images), labels=str(labels), label_sep="|", image_size=24, split_seed=2)
    assert other.test.ids != bundle.test.ids


def test_explicit_columns_test_csv_and_extensions(tmp_path: Path) -> None:
    images = tmp_path / "imgs"
    images.mkdir()
    for i in range(6):
        (images / f"im{i}.png").write_bytes(png_bytes(i))
    (tmp_path / "train.csv").write_text("notes,file,tags\nx,im0,cat dog\ny,im1.png,dog\nz,im2,\nw,im3,cat\n")
    (tmp_path / "test.csv").write_text("notes,file,tags\nx,im4,bird\ny,im5,cat\n")
    bundle = build(images=str(images), labels=str(tmp_path / "train.csv"), test_labels=str(tmp_path / "test.csv"),
                   image_column="file", label_column="tags", image_size=16)
    assert bundle.class_names == ["bird", "cat", "dog"]  # sorted union of both CSVs
    assert bundle.train.ids == ["im0", "im1.png", "im2", "im3"] and bundle.train.labels[2].sum() == 0
    assert bundle.train.class_counts.tolist() == [0, 2, 2] and bundle.test.class_counts.tolist() == [1, 1, 0]
    auto = build(images=str(images), labels=str(tmp_path / "train.csv"), test_labels=str(tmp_path / "test.csv"), image_size=16)
    assert auto.train.ids == bundle.train.ids  # "file" and "tags" are auto-detected


def test_reference_format_and_pareto(tmp_path: Path) -> None:
    """The `image_id,labels` format of the reference CSVs, with a Pareto subset of the training pool."""
    rng = np.random.default_rng(0)
    images = tmp_path / "images"
    images.mkdir()
    classes = [f"c{k}" for k in range(5)]
    rows = ["image_id,labels"]
    for i in range(120):
        (images / f"{i:04d}.jpg").write_bytes(png_bytes(i, (8, 8)))  # PIL sniffs the content, not the name
        names = {classes[0]} if rng.random() < 0.7 else set()
        names |= {classes[k] for k in range(1, 5) if rng.random() < 0.5 / k}
        rows.append(f"{i:04d},{' '.join(sorted(names))}")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    full = build(images=str(images), labels=str(tmp_path / "labels.csv"), image_size=8)
    subset = build(images=str(images), labels=str(tmp_path / "labels.csv"), pareto=True, pareto_max=40, image_size=8)
    assert set(subset.train.ids) < set(full.train.ids) and subset.test.ids == full.test.ids
    assert subset.info["pareto"] and subset.info["pool_size"] == len(full.train)
    counts = subset.train.class_counts
    assert counts.max() <= 45 and counts[0] == counts.max()


def test_malformed_input(tmp_path: Path) -> None:
    images, labels = chest_tree(tmp_path, n=8)
    ok = dict(images=str(images), label_sep="|")
    cases = {
        "empty.csv": ("", "empty or has no header"),
        "header_only.csv": ("Image Index,Finding Labels\n", "no rows"),
        "short.csv": ("Image Index,Finding Labels\n00000001_000.png\n", "line 2"),
        "dupes.csv": ("Image Index,Finding Labels\n00000001_000.png,Mass\n00000001_000.png,Mass\n", "listed twice"),
        "missing_image.csv": ("Image Index,Finding Labels\n00000001_000.png,Mass\nnope.png,Mass\n", "nope.png"),
        "binary.csv": (b"\xff\xfe\x00\x01garbage", "not a readable CSV"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        with pytest.raises(DataError, match=message) as info:
            build(labels=str(path), **ok)
        assert "\n" not in str(info.value)
    with pytest.raises(DataError, match="no column 'Labels'"):
        build(labels=str(labels), label_column="Labels", **ok)
    with pytest.raises(DataError, match=r"needs settings\['images'\]"):
        build(labels=str(labels))
    with pytest.raises(DataError, match="image folder .* does not exist"):
        build(images=str(tmp_path / "nowhere"), labels=str(labels))
    with pytest.raises(DataError, match="test_fraction"):
        build(labels=str(labels), test_fraction=1.5, **ok)


def test_one_epoch_on_csv(tmp_path: Path) -> None:
    images, labels = chest_tree(tmp_path / "data")
    record = api.run(method="erm", dataset="csv", settings={"images": str(images), "labels": str(labels), "label_sep": "|",
                     "image_size": 16, "num_workers": 0, "freeze_prefixes": ()}, backbone="ltml_cifar_resnet_small",
                     pretrained=False, epochs=1, out=tmp_path / "runs")
    assert record["num_train_images"] == 24 and record["num_test_images"] == 6
    assert record["class_names"] == sorted(FINDINGS)


def test_test_csv_sharing_training_images_is_refused(tmp_path: Path) -> None:
    images = tmp_path / "imgs"
    images.mkdir()
    for i in range(4):
        (images / f"im{i}.png").write_bytes(png_bytes(i))
    (tmp_path / "train.csv").write_text("file,tags\nim0.png,cat\nim1.png,dog\nim2.png,cat\n")
    (tmp_path / "test.csv").write_text("file,tags\n./im1.png,dog\nim3.png,cat\n")  # ./im1.png is im1.png
    with pytest.raises(DataError, match=r"share 1 image\(s\) with the training labels.*'\./im1\.png' \(train 'im1\.png'\)"):
        build(images=str(images), labels=str(tmp_path / "train.csv"), test_labels=str(tmp_path / "test.csv"), image_size=16)


def test_test_label_never_in_training_is_warned(tmp_path: Path) -> None:
    images = tmp_path / "imgs"
    images.mkdir()
    for i in range(4):
        (images / f"im{i}.png").write_bytes(png_bytes(i))
    (tmp_path / "train.csv").write_text("file,tags\nim0.png,cat\nim1.png,dog\n")
    (tmp_path / "test.csv").write_text("file,tags\nim2.png,bird\nim3.png,cat\n")
    with pytest.warns(UserWarning, match="test label\\(s\\) bird never occur in the training set"):
        build(images=str(images), labels=str(tmp_path / "train.csv"), test_labels=str(tmp_path / "test.csv"), image_size=16)
