"""csv: any multi-label image folder described by a CSV (NIH ChestX-ray14, your own data, ...).

Options (all `--set`-able):
- `images`: the image folder; a CSV path value is taken relative to it (absolute paths are kept).
  A value without an extension also matches `<value>.jpg`, `.jpeg` or `.png`.
- `labels`: the CSV of image path and labels (header required).
- `image_column` / `label_column`: column names; empty = auto-detected: the image column is the
  first header among "Image Index", "image", "image_id", "image_path", "path", "file", "filename",
  "file_name", "id" (case-insensitive), else the first column; the label column is the first
  among "Finding Labels", "labels", "label", "tags", "classes", "targets", else the second column.
- `label_sep` (" "): separator inside the label field, e.g. "|" for ChestX-ray14's
  `Data_Entry_2017.csv`; `no_label` ("No Finding"): a label value meaning "no class" (empty
  fields are allowed too): such rows are all-zero, as ChestX-ray14's 14-class benchmark counts them.
- `test_labels` (""): a second CSV for the test set (same columns; images in `test_images`, default
  `images`); without it, `test_fraction` (0.2) of the rows go to the test set, drawn with `split_seed`.
- `pareto` (false): replace the training set with a Pareto subset of it (the DB builder,
  `pareto_alpha` 6, `pareto_max` 800, `split_seed`).
- `image_size` (224): images are resized (test) or augmented then resized (train) to this size
  with the recipe of `ltml_bench.data.images`.
- `image_cache` (true): decode every image once into the cached image store
  (`ltml_bench.data.imagestore`; see datasets/README.md); false decodes per step.

Class names are the sorted union of the labels of both CSVs. A row naming a file that does not
exist, a missing column, a row with too few fields or an image listed twice is a `DataError`
naming the file and line. A `test_labels` CSV that names a training image (as resolved paths:
`./a.png` is `a.png`) is refused as train/test leakage; a test label that never occurs in training
is warned about.
"""

from __future__ import annotations

import csv as _csv
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ltml_bench.data import DatasetBundle
from ltml_bench.data.label_table import multi_hot as _multi_hot
from ltml_bench.data.label_table import read_label_table
from ltml_bench.data.realdata import require_dir
from ltml_bench.errors import DataError, setting
from ltml_bench.recipes import DB_RESNET50, DB_RESNET50_RESAMPLED
from ltml_bench.registry import DATASETS, DatasetSpec

EXTENSIONS = (".jpg", ".jpeg", ".png")


def read_rows(path: Path, image_column: str, label_column: str, sep: str, no_label: str) -> tuple[list[str], list[list[str]]]:
    """(image values, label lists) of one CSV (`ltml_bench.data.label_table`, shared with `data pareto`)."""
    return read_label_table(path, image_column, label_column, sep, no_label)


def resolve_image(folder: Path, value: str, path: Path) -> Path:
    candidate = Path(value)
    candidate = candidate if candidate.is_absolute() else folder / candidate
    if candidate.is_file():
        return candidate
    if not candidate.suffix:
        for ext in EXTENSIONS:
            if candidate.with_suffix(ext).is_file():
                return candidate.with_suffix(ext)
    raise DataError(f"image {candidate} (listed in {path}) is missing; put it in {folder} or fix the CSV")


def refuse_leakage(train_paths: list[Path], train_values: list[str], train_csv: Path,
                   test_paths: list[Path], test_values: list[str], test_csv: Path) -> None:
    """A test image that is also a training image (compared as resolved paths, so `./a.png`,
    `a.png` and a link to it are one image) makes the test set measure memory: a `DataError`."""
    seen = {os.path.realpath(p): v for p, v in zip(train_paths, train_values)}
    shared = [(v, seen[os.path.realpath(p)]) for p, v in zip(test_paths, test_values) if os.path.realpath(p) in seen]
    if shared:
        examples = ", ".join(f"{t!r} (train {s!r})" for t, s in shared[:3])
        raise DataError(f"test labels {test_csv} share {len(shared)} image(s) with the training labels {train_csv}: {examples}; "
                        f"remove them from one of the two CSVs (test images must be unseen)")


def warn_unseen_labels(classes: list[str], train_y: np.ndarray, test_y: np.ndarray) -> None:
    """Warn about test labels that no training image carries (nothing to learn them from)."""
    unseen = [classes[c] for c in np.flatnonzero((train_y.sum(0) == 0) & (test_y.sum(0) > 0))]
    if unseen:
        warnings.warn(f"csv: test label(s) {', '.join(unseen)} never occur in the training set; their AP only measures "
                      f"chance (they count as tail classes with n = 0)", stacklevel=3)


def build(images: str = "", labels: str = "", image_column: str = "", label_column: str = "", label_sep: str = " ",
          no_label: str = "No Finding", test_labels: str = "", test_images: str = "", test_fraction: float = 0.2,
          split_seed: int = 0, pareto: bool = False, pareto_alpha: float = 6.0, pareto_max: int = 800,
          image_size: int = 224, image_cache: bool = True, **_: Any) -> DatasetBundle:
    from ltml_bench.data.realdata import image_split

    if not images or not labels:
        raise DataError(f"the csv dataset needs {setting('images', 'FOLDER')} and {setting('labels', 'FILE.csv')} (see datasets/README.md)")
    folder = require_dir(Path(images).expanduser(), "image folder", "give the folder holding the images (--set images=...)")
    label_path = Path(labels).expanduser()
    sep = label_sep if label_sep != "" else " "
    values, names = read_rows(label_path, image_column, label_column, sep, no_label)
    paths = [resolve_image(folder, v, label_path) for v in values]
    if test_labels:
        test_path = Path(test_labels).expanduser()
        test_folder = require_dir(Path(test_images).expanduser(), "image folder", "give the test image folder") if test_images else folder
        t_values, t_names = read_rows(test_path, image_column, label_column, sep, no_label)
        t_paths = [resolve_image(test_folder, v, test_path) for v in t_values]
        refuse_leakage(paths, values, label_path, t_paths, t_values, test_path)
        train_rows = list(range(len(values)))
        split_info: dict[str, Any] = {"test_labels": str(test_path)}
    else:
        if not 0.0 < float(test_fraction) < 1.0:
            raise DataError(f"test_fraction={test_fraction}: must be in (0, 1), or give {setting('test_labels', 'FILE.csv')}")
        order = np.random.default_rng(int(split_seed)).permutation(len(values))
        n_test = max(1, int(round(len(values) * float(test_fraction))))
        if n_test >= len(values):
            raise DataError(f"label file {label_path}: {len(values)} row(s) are too few to split off a test set; add rows or give test_labels")
        test_rows = sorted(order[:n_test].tolist())
        train_rows = sorted(order[n_test:].tolist())
        t_values = [values[r] for r in test_rows]
        t_names = [names[r] for r in test_rows]
        t_paths = [paths[r] for r in test_rows]
        split_info = {"test_fraction": float(test_fraction), "split_seed": int(split_seed)}
    classes = sorted({n for row in names for n in row} | {n for row in t_names for n in row})
    if not classes:
        raise DataError(f"label file {label_path}: no row carries a label; check label_column and label_sep (now {sep!r})")

    def multi_hot(rows: list[list[str]]) -> np.ndarray:
        return _multi_hot(rows, classes)

    train_values = [values[r] for r in train_rows]
    train_paths = [paths[r] for r in train_rows]
    train_y = multi_hot([names[r] for r in train_rows])
    if pareto:
        from ltml_bench.data.pareto import pareto_subset

        if not train_y.any():
            raise DataError(f"label file {label_path}: the training rows carry no label; pareto needs labelled images")
        subset = pareto_subset(train_y, alpha=float(pareto_alpha), max_count=int(pareto_max), min_count=1, seed=int(split_seed), stream="python")
        keep = subset.indices
        train_values = [train_values[i] for i in keep]
        train_paths = [train_paths[i] for i in keep]
        train_y = train_y[keep]
        split_info.update({"pareto": True, "pareto_alpha": float(pareto_alpha), "pareto_max": int(pareto_max), "pool_size": len(train_rows)})
    test_y = multi_hot(t_names)
    warn_unseen_labels(classes, train_y, test_y)
    return DatasetBundle(
        name="csv",
        class_names=classes,
        train=image_split(train_values, train_paths, train_y, train=True, image_size=image_size, cache=image_cache),
        test=image_split(t_values, t_paths, test_y, train=False, image_size=image_size, cache=image_cache),
        info={"images": str(folder), "labels": str(label_path), "label_sep": sep, "image_size": int(image_size), **split_info},
    )


SPEC = DATASETS.register(
    DatasetSpec(
        name="csv",
        title="CSV",
        summary="any image folder + CSV of image,labels (e.g. NIH ChestX-ray14 with label_sep='|'); optional Pareto subset",
        build=build,
        recipe=DB_RESNET50,
        recipe_resampled=DB_RESNET50_RESAMPLED,
        options={
            "images": "", "labels": "", "image_column": "", "label_column": "", "label_sep": " ", "no_label": "No Finding",
            "test_labels": "", "test_images": "", "test_fraction": 0.2, "split_seed": 0, "pareto": False,
            "pareto_alpha": 6.0, "pareto_max": 800, "image_size": 224, "image_cache": True,
        },
    ),
    origin="builtin",
)
