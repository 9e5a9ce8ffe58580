"""Generators of tiny VOC / COCO / CSV dataset trees in the real on-disk formats (for the tests).

VOC: VOCdevkit/VOC2012 and VOC2007 with Annotations/*.xml (objects, `difficult` flags, person
parts), ImageSets/Main/{trainval,test}.txt and JPEGImages/*.jpg. COCO: annotations/instances_
{train,val}2017.json that pycocotools loads (80 categories with the official non-contiguous ids),
train2017/ and val2017/ with JPEGs named by their 12-digit ids.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

VOC_CLASSES = [
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
]
COCO_NAMES = [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard",
    "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase",
    "scissors", "teddy bear", "hair drier", "toothbrush",
]
COCO_IDS = (list(range(1, 12)) + list(range(13, 26)) + [27, 28] + list(range(31, 45)) + list(range(46, 66))
            + [67, 70] + list(range(72, 83)) + list(range(84, 91)))
assert len(COCO_IDS) == 80 == len(COCO_NAMES)


def jpeg_bytes(width: int = 40, height: int = 30, seed: int = 0) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(seed)
    array = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def voc_xml(image_id: str, objects: Iterable[tuple[str, bool]], folder: str = "VOC2012") -> str:
    parts = []
    for name, difficult in objects:
        extra = "<part><name>head</name><bndbox><xmin>2</xmin><ymin>2</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></part>" if name == "person" else ""
        parts.append(
            f"<object><name>{name}</name><pose>Unspecified</pose><truncated>0</truncated>"
            f"<difficult>{int(difficult)}</difficult><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>20</xmax>"
            f"<ymax>15</ymax></bndbox>{extra}</object>"
        )
    return (
        f"<annotation><folder>{folder}</folder><filename>{image_id}.jpg</filename>"
        f"<size><width>40</width><height>30</height><depth>3</depth></size><segmented>0</segmented>"
        + "".join(parts) + "</annotation>"
    )


def _write_year(year_dir: Path, set_name: str, labels: Mapping[str, Sequence[str]], difficult: Mapping[str, Sequence[str]],
                image: bytes | None) -> None:
    (year_dir / "Annotations").mkdir(parents=True, exist_ok=True)
    (year_dir / "ImageSets" / "Main").mkdir(parents=True, exist_ok=True)
    (year_dir / "JPEGImages").mkdir(parents=True, exist_ok=True)
    for n, (image_id, names) in enumerate(labels.items()):
        objects = [(name, False) for name in names] + [(name, True) for name in difficult.get(image_id, ())]
        (year_dir / "Annotations" / f"{image_id}.xml").write_text(voc_xml(image_id, objects, year_dir.name))
        (year_dir / "JPEGImages" / f"{image_id}.jpg").write_bytes(image if image is not None else jpeg_bytes(seed=n))
    (year_dir / "ImageSets" / "Main" / f"{set_name}.txt").write_text("".join(f"{i}\n" for i in labels))


def make_voc_tree(root: Path, trainval: Mapping[str, Sequence[str]], test: Mapping[str, Sequence[str]],
                  difficult: Mapping[str, Sequence[str]] | None = None, image: bytes | None = None) -> Path:
    """root/VOCdevkit/VOC2012 (trainval) and VOC2007 (test); `difficult` adds difficult-only objects."""
    kit = root / "VOCdevkit"
    _write_year(kit / "VOC2012", "trainval", trainval, difficult or {}, image)
    _write_year(kit / "VOC2007", "test", test, difficult or {}, image)
    return root


def tiny_voc(root: Path) -> tuple[Path, Path, dict[str, list[str]]]:
    """A 16-image trainval pool (every class present), 10 test images, and an id file of 12 training ids."""
    rng = np.random.default_rng(0)
    trainval: dict[str, list[str]] = {}
    for i in range(16):
        names = {VOC_CLASSES[(2 * i + k) % 20] for k in range(2)} | ({"person"} if i % 2 == 0 else set())
        trainval[f"2008_{i:06d}"] = sorted(names)
    test = {f"{i:06d}": sorted({VOC_CLASSES[int(c)] for c in rng.choice(20, size=2, replace=False)}) for i in range(10)}
    test["000000"] = ["person", "cow"]
    make_voc_tree(root, trainval, test, difficult={"2008_000001": ["sheep"]})
    ids = list(trainval)[:12]
    split = root / "ids.txt"
    split.write_text("".join(f"{i}\n" for i in ids))
    return root, split, trainval


def coco_json(images: Sequence[dict], annotations: Sequence[dict], categories: Sequence[tuple[int, str]] | None = None) -> dict:
    cats = categories if categories is not None else list(zip(COCO_IDS, COCO_NAMES))
    return {
        "info": {"description": "tiny test tree"},
        "licenses": [],
        "images": list(images),
        "annotations": list(annotations),
        "categories": [{"id": cid, "name": name, "supercategory": "thing"} for cid, name in cats],
    }


def make_coco_tree(root: Path, train: Mapping[int, Sequence[str]], val: Mapping[int, Sequence[str]],
                   sizes: Mapping[int, tuple[int, int]] | None = None, extra_train_annotations: Sequence[dict] = (),
                   image: bytes | None = None, categories: Sequence[tuple[int, str]] | None = None) -> Path:
    """COCO 2017 layout; labels are COCO names (spaces or underscores); sizes: id -> (width, height)."""
    sizes = sizes or {}
    cat_id = {name: cid for cid, name in zip(COCO_IDS, COCO_NAMES)}
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    ann_id = 1
    for split_name, labels, extra in (("train2017", train, extra_train_annotations), ("val2017", val, ())):
        (root / split_name).mkdir(parents=True, exist_ok=True)
        images, anns = [], []
        for n, (image_id, names) in enumerate(labels.items()):
            width, height = sizes.get(image_id, (64, 48))
            images.append({"id": int(image_id), "file_name": f"{int(image_id):012d}.jpg", "width": width, "height": height})
            for name in names:
                anns.append({"id": ann_id, "image_id": int(image_id), "category_id": cat_id[name.replace("_", " ")],
                             "bbox": [1.0, 1.0, 10.0, 8.0], "area": 80.0, "iscrowd": 0})
                ann_id += 1
            (root / split_name / f"{int(image_id):012d}.jpg").write_bytes(image if image is not None else jpeg_bytes(seed=n))
        for a in extra:
            anns.append({"id": ann_id, **a})
            ann_id += 1
        payload = coco_json(images, anns, categories)
        (root / "annotations" / f"instances_{split_name}.json").write_text(json.dumps(payload))
    return root
