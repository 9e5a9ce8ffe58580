"""Code shared by the file-backed datasets (voc_lt, coco_lt, csv): data root, split choice, checks.

- `resolve_data_root(option)`: the `data_root` option, else `$LTML_BENCH_DATA`, else `./data`
  (not `./datasets`: that is the name of this repository's folder of builder modules, and data
  written there would sit among source files).
- `training_ids(...)`: the training subset of a long-tailed dataset: the published id list
  (`split="published"`, from `split_file` or the pinned download) or a fresh Pareto subset of the
  full training pool (`split="pareto"`, `split_seed`, the DB tool's random stream).
- `check_bundle(bundle)`: what `ltml-bench data check` reports: every image decodes, per-class
  training counts, head / middle / tail sizes, and, when the split is the published one, the
  differences from the published figures (docs/protocol.md section 3.1).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ltml_bench.data.images import ImageListDataset
from ltml_bench.data.imagestore import StoredImages
from ltml_bench.data.interface import Split
from ltml_bench.errors import DataError

DEFAULT_DATA_ROOT = "./data"
SPLITS = ("published", "pareto")


@dataclass(frozen=True)
class Expected:
    """Published figures of a long-tailed training split (and its test set)."""

    train_images: int
    max_count: int
    min_count: int
    groups: tuple[int, int, int]
    test_images: int
    num_classes: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "train_images": self.train_images, "max_count": self.max_count, "min_count": self.min_count,
            "groups": list(self.groups), "test_images": self.test_images, "num_classes": self.num_classes,
        }


def resolve_data_root(data_root: str | os.PathLike[str] | None) -> Path:
    text = str(data_root or "").strip() or os.environ.get("LTML_BENCH_DATA", "").strip() or DEFAULT_DATA_ROOT
    return Path(text).expanduser()


def require_dir(path: Path, what: str, hint: str) -> Path:
    if not path.is_dir():
        raise DataError(f"{what} {path} does not exist; {hint}")
    return path


def require_file(path: Path, what: str, hint: str) -> Path:
    if not path.is_file():
        raise DataError(f"{what} {path} does not exist; {hint}")
    return path


@dataclass
class SplitChoice:
    ids: list[str]
    info: dict[str, Any]


def training_ids(
    dataset: str,
    split: str,
    split_file: str,
    split_seed: int,
    pool_ids: Callable[[], list[str]],
    pool_labels: Callable[[list[str]], np.ndarray],
    alpha: float,
    max_count: int,
) -> SplitChoice:
    """The training ids of `dataset` under the split options (see the module docstring)."""
    from ltml_bench.data import splits

    if split not in SPLITS:
        raise DataError(f"split={split!r}: choose 'published' (the DB id list) or 'pareto' (a fresh Pareto subset)")
    if split == "pareto":
        if split_file:
            raise DataError(f"split=pareto draws a fresh subset and takes no split_file ({split_file}); drop one of the two")
        from ltml_bench.data.pareto import pareto_subset

        ids = pool_ids()
        labels = pool_labels(ids)
        subset = pareto_subset(labels, alpha=alpha, max_count=max_count, min_count=1, seed=int(split_seed), stream="python")
        chosen = [ids[i] for i in subset.selection_order]
        return SplitChoice(chosen, {"split": "pareto", "split_seed": int(split_seed), "pareto_alpha": alpha,
                                    "pareto_max": max_count, "pool_size": len(ids), "published": False})
    path = Path(split_file).expanduser() if split_file else splits.published_file(dataset)
    ids = splits.read_id_list(path)
    digest = splits.sha256_of(path)
    published = digest == splits.published_sha256(dataset)
    return SplitChoice(ids, {"split": "published", "split_file": str(path), "split_sha256": digest, "published": published})


def check_ids_in_pool(split_ids: Sequence[str], pool: Sequence[str] | set[str], split_path: str, pool_desc: str, hint: str) -> None:
    pool_set = pool if isinstance(pool, set) else set(pool)
    missing = [i for i in split_ids if i not in pool_set]
    if missing:
        shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        raise DataError(
            f"split file {split_path}: {len(missing)} id(s) not in {pool_desc} ({shown}); {hint}"
        )


def missing_files(paths: Sequence[str | Path]) -> list[str]:
    return [str(p) for p in paths if not os.path.isfile(p)]


def require_images(paths: Sequence[str | Path], hint: str) -> None:
    missing = missing_files(paths)
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise DataError(f"image {missing[0]} is listed but missing{more}; {hint}")


def _verify_images(bundle: Any, progress: Callable[[int, int], None] | None) -> tuple[list[dict[str, str]], int]:
    """The missing or unreadable images of both splits, and how many were checked."""
    from ltml_bench.data.images import verify_image

    unreadable: list[dict[str, str]] = []
    all_paths = list(getattr(bundle.train.dataset, "paths", [])) + list(getattr(bundle.test.dataset, "paths", []))
    for n, path in enumerate(all_paths):
        reason = verify_image(path)
        if reason is not None:
            unreadable.append({"path": path, "reason": reason})
        if progress and (n % 200 == 0 or n + 1 == len(all_paths)):
            progress(n + 1, len(all_paths))
    return unreadable, len(all_paths)


def check_bundle(bundle: Any, expected: Expected | None, verify_images: bool = True,
                 head_min: int = 100, tail_below: int = 20,
                 progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """The report of `ltml-bench data check` (a JSON-able dict; `ok` is False on any problem)."""
    from ltml_bench.data.splits import group_sizes

    problems: list[str] = []
    notes: list[str] = []
    counts = bundle.train.class_counts
    sizes = group_sizes(counts, head_min, tail_below)
    unreadable: list[dict[str, str]] = []
    checked = 0
    if verify_images:
        unreadable, checked = _verify_images(bundle, progress)
        if unreadable:
            problems.append(f"{len(unreadable)} image(s) missing or unreadable, first: {unreadable[0]['path']} ({unreadable[0]['reason']})")
    info = bundle.info
    figures = {
        "train_images": len(bundle.train), "max_count": int(counts.max()) if counts.size else 0,
        "min_count": int(counts.min()) if counts.size else 0, "groups": list(sizes),
        "test_images": len(bundle.test), "num_classes": bundle.num_classes,
    }
    compared = False
    if expected is not None and info.get("split") == "published":
        if info.get("published"):
            compared = True
            for key, want in expected.as_dict().items():
                got = figures[key]
                if got != want:
                    problems.append(f"{key}: got {got}, the published split has {want}")
        else:
            notes.append(
                f"split file {info.get('split_file')} is not the published id list (sha256 differs from the pin): "
                f"counts are shown, not compared with the published figures"
            )
    no_test = [bundle.class_names[i] for i in np.flatnonzero(bundle.test.class_counts == 0)]
    if no_test:
        notes.append(f"{len(no_test)} class(es) without test positives (AP undefined): {', '.join(no_test[:10])}")
    zero_train = [bundle.class_names[i] for i in np.flatnonzero(counts == 0)]
    if zero_train:
        notes.append(f"{len(zero_train)} class(es) without training images: {', '.join(zero_train[:10])}")
    return {
        "dataset": bundle.name,
        "ok": not problems,
        "problems": problems,
        "notes": notes,
        "figures": figures,
        "expected": expected.as_dict() if expected is not None else None,
        "compared_with_published": compared,
        "class_names": list(bundle.class_names),
        "train_counts": [int(c) for c in counts],
        "test_counts": [int(c) for c in bundle.test.class_counts],
        "group_rule": {"head_min": head_min, "tail_below": tail_below},
        "images_checked": checked,
        "unreadable": unreadable[:50],
        "info": {k: v for k, v in info.items() if isinstance(v, (str, int, float, bool, type(None)))},
    }


def image_split(ids: Sequence[str], paths: Sequence[str | Path], labels: np.ndarray, train: bool, image_size: int,
                cache: bool = True) -> Split:
    """A `Split` over image files: the train transform of the recipe when `train`, resize only
    otherwise. `cache`: decode once into an `imagestore.StoredImages` (batched, GPU-capable
    augmentation; same images), else decode per item (`ImageListDataset`, DataLoader workers)."""
    if cache:
        return Split(list(ids), labels, StoredImages(paths, labels, train=train, image_size=int(image_size)))
    return Split(list(ids), labels, ImageListDataset(paths, labels, train=train, image_size=int(image_size)))
