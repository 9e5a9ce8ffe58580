"""voc_lt: VOC-LT of Wu et al. (ECCV 2020): a long-tailed subset of VOC2012 trainval, tested on VOC2007 test.

Layout under the data root (`--data-root`, `--set data_root=...`, `$LTML_BENCH_DATA`, else ./data;
the root may also be the VOCdevkit folder itself):

    VOCdevkit/VOC2012/Annotations/<id>.xml
    VOCdevkit/VOC2012/ImageSets/Main/trainval.txt     (11,540 ids: the pool)
    VOCdevkit/VOC2012/JPEGImages/<id>.jpg
    VOCdevkit/VOC2007/Annotations/<id>.xml
    VOCdevkit/VOC2007/ImageSets/Main/test.txt         (4,952 ids: the test set)
    VOCdevkit/VOC2007/JPEGImages/<id>.jpg

Labels are image-level multi-hot over the 20 VOC classes in alphabetical order (aeroplane ...
tvmonitor): every `<object>` counts, `difficult` ones included, in train and test. The XML files
are parsed with `xml.etree` after refusing any DOCTYPE / ENTITY declaration (no entity is ever
expanded). Options: `split` ("published": the DB id list `longtail2012/img_id.txt`, from
`split_file` or a pinned download; "pareto": a fresh subset of the trainval pool with the Pareto
builder, alpha 6, max 800, `split_seed`; seed 0 replays the published list exactly), `image_size`
(224), `image_cache` (true: decode once into the cached image store, see datasets/README.md).
The published split: 1,142 images, person 775 / cow 4, groups 6 / 6 / 8.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

from ltml_bench.data import DatasetBundle
from ltml_bench.data.realdata import Expected, check_ids_in_pool, require_dir, require_file, require_images, resolve_data_root, training_ids
from ltml_bench.errors import DataError
from ltml_bench.recipes import DB_RESNET50, DB_RESNET50_RESAMPLED
from ltml_bench.registry import DATASETS, DatasetSpec

CLASS_NAMES = [
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
]
CLASS_INDEX = {name: i for i, name in enumerate(CLASS_NAMES)}
EXPECTED = Expected(train_images=1142, max_count=775, min_count=4, groups=(6, 6, 8), test_images=4952, num_classes=20)
PARETO_ALPHA = 6.0
PARETO_MAX = 800
LAYOUT_HINT = "the data root must hold VOCdevkit/VOC2012 and VOCdevkit/VOC2007 (see datasets/README.md)"


def devkit(root: Path) -> Path:
    """The VOCdevkit folder: `root/VOCdevkit`, or `root` itself when it holds VOC2012 / VOC2007."""
    require_dir(root, "data root", f"set --data-root (or $LTML_BENCH_DATA) to the folder that holds VOCdevkit/; {LAYOUT_HINT}")
    if (root / "VOCdevkit").is_dir():
        return root / "VOCdevkit"
    if (root / "VOC2012").is_dir() or (root / "VOC2007").is_dir():
        return root
    raise DataError(f"data root {root} holds no VOCdevkit folder; {LAYOUT_HINT}")


def image_set(year_dir: Path, name: str) -> list[str]:
    path = require_file(year_dir / "ImageSets" / "Main" / f"{name}.txt", "image set", f"extract the full {year_dir.name} archive; {LAYOUT_HINT}")
    ids = [line.split()[0] for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    if not ids:
        raise DataError(f"image set {path} is empty; extract the full {year_dir.name} archive again")
    return ids


def parse_annotation(path: Path) -> np.ndarray:
    """Multi-hot [20] of one VOC XML file (every object, difficult included)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"annotation {path} is missing; extract the full VOC archive (Annotations/) again") from None
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise DataError(f"annotation {path} declares a DOCTYPE/ENTITY, which VOC files never do; refused, replace the file")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise DataError(f"annotation {path} is not valid XML ({exc}); replace the file") from None
    y = np.zeros(len(CLASS_NAMES), dtype=np.uint8)
    for obj in root.findall("object"):
        name = (obj.findtext("name") or "").strip()
        if name not in CLASS_INDEX:
            raise DataError(f"annotation {path}: object class {name!r} is not one of the 20 VOC classes; check the file")
        y[CLASS_INDEX[name]] = 1
    return y


def labels_of(year_dir: Path, ids: list[str]) -> np.ndarray:
    if not ids:
        return np.zeros((0, len(CLASS_NAMES)), dtype=np.uint8)
    require_dir(year_dir / "Annotations", "annotation folder", f"extract the full {year_dir.name} archive; {LAYOUT_HINT}")
    return np.stack([parse_annotation(year_dir / "Annotations" / f"{i}.xml") for i in ids])


def image_paths(year_dir: Path, ids: list[str]) -> list[Path]:
    return [year_dir / "JPEGImages" / f"{i}.jpg" for i in ids]


def build(data_root: str = "", split: str = "published", split_file: str = "", split_seed: int = 0,
          image_size: int = 224, image_cache: bool = True, **_: Any) -> DatasetBundle:
    from ltml_bench.data.realdata import image_split

    root = resolve_data_root(data_root)
    kit = devkit(root)
    voc12 = require_dir(kit / "VOC2012", "folder", f"extract VOC2012 trainval; {LAYOUT_HINT}")
    voc07 = require_dir(kit / "VOC2007", "folder", f"extract VOC2007 test; {LAYOUT_HINT}")
    pool = image_set(voc12, "trainval")
    choice = training_ids("voc_lt", split, split_file, int(split_seed), lambda: pool, lambda ids: labels_of(voc12, ids),
                          PARETO_ALPHA, PARETO_MAX)
    if split == "published":
        check_ids_in_pool(choice.ids, pool, choice.info["split_file"], f"VOC2012 trainval ({voc12}/ImageSets/Main/trainval.txt)",
                          "check that split_file is a VOC-LT id list (VOC2012 ids such as 2008_000023) and that VOC2012 is complete")
    train_ids = choice.ids
    train_labels = labels_of(voc12, train_ids)
    test_ids = image_set(voc07, "test")
    test_labels = labels_of(voc07, test_ids)
    train_paths = image_paths(voc12, train_ids)
    test_paths = image_paths(voc07, test_ids)
    require_images(train_paths + test_paths, "extract the JPEGImages of VOC2012 trainval and VOC2007 test again")
    return DatasetBundle(
        name="voc_lt",
        class_names=list(CLASS_NAMES),
        train=image_split(train_ids, train_paths, train_labels, train=True, image_size=image_size, cache=image_cache),
        test=image_split(test_ids, test_paths, test_labels, train=False, image_size=image_size, cache=image_cache),
        info={"data_root": str(root), "image_size": int(image_size), **choice.info},
    )


SPEC = DATASETS.register(
    DatasetSpec(
        name="voc_lt",
        title="VOC-LT",
        summary="VOC2012 trainval long-tailed subset (1,142 images, 20 classes) / VOC2007 test (4,952); needs VOCdevkit",
        build=build,
        recipe=DB_RESNET50,
        recipe_resampled=DB_RESNET50_RESAMPLED,
        options={"data_root": "", "split": "published", "split_file": "", "split_seed": 0, "image_size": 224, "image_cache": True},
    ),
    origin="builtin",
)
