"""coco_lt: COCO-LT of Wu et al. (ECCV 2020): a long-tailed subset of COCO2017 train, tested on all of val2017.

Layout under the data root (`--data-root`, `--set data_root=...`, `$LTML_BENCH_DATA`, else ./data):

    annotations/instances_train2017.json
    annotations/instances_val2017.json
    train2017/<12-digit id>.jpg     (the file_name of each image entry)
    val2017/<12-digit id>.jpg

The JSON files are read with pycocotools (its messages go to stderr). Labels (docs/protocol.md
section 3.1): image-level multi-hot over the 80 categories in category-id order (person, bicycle, car, ...;
names with spaces written with "_" as in the published files); an annotation counts unless its
area <= 0 or its box is under 1 px wide or high; `iscrowd` annotations are kept. Training draws
from train2017 images whose shorter side is at least 32 px; the test set is all 5,000 val2017
images, those without labels included. Parsed labels are cached (`$LTML_BENCH_CACHE/coco_labels`,
keyed by the JSON's path, size and mtime) because train2017's JSON takes long to load.

Options: `split` ("published": the DB id list `longtail2017/img_id.pkl`, plain text, from
`split_file` or a pinned download; "pareto": a fresh subset of the filtered train2017 pool,
alpha 6, max 1200, `split_seed`), `image_size` (224), `image_cache` (true: the decode-once image store, datasets/README.md). Published: 1,909 images, person 1,128,
min 6, groups 22 / 33 / 25.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ltml_bench.data import DatasetBundle, cache_dir, cached_arrays, stable_hash
from ltml_bench.data.realdata import Expected, check_ids_in_pool, require_dir, require_file, require_images, resolve_data_root, training_ids
from ltml_bench.errors import DataError
from ltml_bench.recipes import DB_RESNET50, DB_RESNET50_RESAMPLED
from ltml_bench.registry import DATASETS, DatasetSpec

NUM_CLASSES = 80
MIN_SIDE = 32
EXPECTED = Expected(train_images=1909, max_count=1128, min_count=6, groups=(22, 33, 25), test_images=5000, num_classes=80)
PARETO_ALPHA = 6.0
PARETO_MAX = 1200
LAYOUT_HINT = "the data root must hold annotations/instances_{train,val}2017.json, train2017/ and val2017/ (see datasets/README.md)"
CACHE_VERSION = 1


def annotation_labels(json_path: Path) -> dict[str, np.ndarray]:
    """ids, file names, widths, heights, labels [N, 80] and class names of one instances JSON (cached)."""
    stat = json_path.stat()
    key = stable_hash(CACHE_VERSION, str(json_path.resolve()), stat.st_size, stat.st_mtime_ns)
    return cached_arrays(cache_dir() / "coco_labels" / f"{json_path.stem}-{key}.npz", lambda: _parse(json_path))


def _parse(json_path: Path) -> dict[str, np.ndarray]:
    from pycocotools.coco import COCO

    try:
        with contextlib.redirect_stdout(sys.stderr):
            coco = COCO(str(json_path))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"annotation file {json_path} is not valid JSON ({exc}); download it again") from None
    except (KeyError, TypeError, AssertionError) as exc:
        raise DataError(f"annotation file {json_path} is not a COCO instances file ({type(exc).__name__}: {exc}); download it again") from None
    cat_ids = sorted(coco.getCatIds())
    if len(cat_ids) != NUM_CLASSES:
        raise DataError(f"annotation file {json_path} has {len(cat_ids)} categories, COCO-LT needs the {NUM_CLASSES} of COCO 2017; use the official instances file")
    column = {cid: i for i, cid in enumerate(cat_ids)}
    names = [str(coco.loadCats(cid)[0]["name"]).replace(" ", "_") for cid in cat_ids]
    image_ids = sorted(coco.getImgIds())
    row = {iid: r for r, iid in enumerate(image_ids)}
    labels = np.zeros((len(image_ids), NUM_CLASSES), dtype=np.uint8)
    for ann in coco.dataset.get("annotations", []):
        bbox = ann.get("bbox") or [0, 0, 0, 0]
        if float(ann.get("area", 0)) <= 0 or len(bbox) < 4 or float(bbox[2]) < 1 or float(bbox[3]) < 1:
            continue
        if ann.get("image_id") not in row or ann.get("category_id") not in column:
            raise DataError(f"annotation file {json_path}: annotation {ann.get('id')} names an unknown image or category; download the file again")
        labels[row[ann["image_id"]], column[ann["category_id"]]] = 1
    imgs = coco.loadImgs(image_ids)
    return {
        "ids": np.asarray(image_ids, dtype=np.int64),
        "file_names": np.asarray([str(im.get("file_name", f"{im['id']:012d}.jpg")) for im in imgs]),
        "widths": np.asarray([int(im.get("width", 0)) for im in imgs], dtype=np.int64),
        "heights": np.asarray([int(im.get("height", 0)) for im in imgs], dtype=np.int64),
        "labels": labels,
        "class_names": np.asarray(names),
    }


def _as_int_ids(ids: list[str], source: str) -> list[int]:
    out = []
    for item in ids:
        if not (item.isascii() and item.isdigit()):
            raise DataError(f"split file {source}: {item!r} is not a COCO image id (an integer); give the COCO-LT id list")
        out.append(int(item))
    return out


def build(data_root: str = "", split: str = "published", split_file: str = "", split_seed: int = 0,
          image_size: int = 224, image_cache: bool = True, **_: Any) -> DatasetBundle:
    from ltml_bench.data.realdata import image_split

    root = resolve_data_root(data_root)
    require_dir(root, "data root", f"set --data-root (or $LTML_BENCH_DATA) to the COCO folder; {LAYOUT_HINT}")
    ann_dir = root / "annotations"
    train_json = require_file(ann_dir / "instances_train2017.json", "annotation file", f"download annotations_trainval2017.zip; {LAYOUT_HINT}")
    val_json = require_file(ann_dir / "instances_val2017.json", "annotation file", f"download annotations_trainval2017.zip; {LAYOUT_HINT}")
    train_dir = require_dir(root / "train2017", "image folder", f"download train2017.zip; {LAYOUT_HINT}")
    val_dir = require_dir(root / "val2017", "image folder", f"download val2017.zip; {LAYOUT_HINT}")

    train = annotation_labels(train_json)
    val = annotation_labels(val_json)
    names = [str(n) for n in train["class_names"]]
    if names != [str(n) for n in val["class_names"]]:
        raise DataError(f"annotation files {train_json} and {val_json} list different categories; use the official 2017 files")
    big_enough = np.minimum(train["widths"], train["heights"]) >= MIN_SIDE
    pool_rows = np.flatnonzero(big_enough)
    pool_ids = [str(int(i)) for i in train["ids"][pool_rows]]
    row_of = {str(int(i)): r for r, i in enumerate(train["ids"])}

    choice = training_ids("coco_lt", split, split_file, int(split_seed), lambda: pool_ids,
                          lambda ids: train["labels"][[row_of[i] for i in ids]], PARETO_ALPHA, PARETO_MAX)
    if split == "published":
        source = choice.info["split_file"]
        wanted = [str(i) for i in _as_int_ids(choice.ids, source)]
        small = [i for i in wanted if i in row_of and not big_enough[row_of[i]]]
        if small:
            raise DataError(f"split file {source}: image {small[0]} (and {len(small) - 1} more) has a side under {MIN_SIDE} px, "
                            f"which the protocol drops from training; check that this is the COCO-LT list")
        check_ids_in_pool(wanted, set(row_of), source, f"COCO train2017 ({train_json})", "check that split_file is a COCO-LT id list (train2017 image ids) and that the annotations are the full train2017 file")
        choice.ids = wanted
    rows = [row_of[i] for i in choice.ids]
    train_labels = train["labels"][rows]
    train_paths = [train_dir / str(train["file_names"][r]) for r in rows]
    test_ids = [str(int(i)) for i in val["ids"]]
    test_paths = [val_dir / str(f) for f in val["file_names"]]
    require_images(train_paths + test_paths, "download and extract train2017.zip / val2017.zip again")
    return DatasetBundle(
        name="coco_lt",
        class_names=names,
        train=image_split(choice.ids, train_paths, train_labels, train=True, image_size=image_size, cache=image_cache),
        test=image_split(test_ids, test_paths, val["labels"], train=False, image_size=image_size, cache=image_cache),
        info={"data_root": str(root), "image_size": int(image_size), "train_pool_size": len(pool_ids), **choice.info},
    )


SPEC = DATASETS.register(
    DatasetSpec(
        name="coco_lt",
        title="COCO-LT",
        summary="COCO2017 train long-tailed subset (1,909 images, 80 classes) / all 5,000 val2017 images; needs COCO 2017",
        build=build,
        recipe=DB_RESNET50,
        recipe_resampled=DB_RESNET50_RESAMPLED,
        options={"data_root": "", "split": "published", "split_file": "", "split_seed": 0, "image_size": 224, "image_cache": True},
    ),
    origin="builtin",
)
