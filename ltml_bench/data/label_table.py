"""The one reader of image-level label tables, shared by `--dataset csv` and `ltml-bench data pareto`.

A label table is a CSV with a header line and one row per image: an image column (a file name,
path or id) and a label column (label names separated by `sep`). Columns are found by name:
`image_column` / `label_column` when given, else the first header among `IMAGE_COLUMNS` /
`LABEL_COLUMNS` (case-insensitive), else the first two columns. Other columns are ignored, so
`image_id,labels`, NIH ChestX-ray14's `Data_Entry_2017.csv` (`Image Index`, `Finding Labels`,
`label_sep='|'`) and tables with extra columns all read the same way. A label equal to `no_label`
("No Finding") and empty fields mean "no class" (an all-zero row). A missing file, a missing
column, a short row or an image listed twice is a `DataError` naming the file and line.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ltml_bench.errors import DataError, setting

IMAGE_COLUMNS = ("image index", "image", "image_id", "image_path", "path", "file", "filename", "file_name", "id")
LABEL_COLUMNS = ("finding labels", "labels", "label", "tags", "classes", "targets")
NO_LABEL = "No Finding"


def _pick(header: list[str], wanted: str, known: tuple[str, ...], fallback: int, path: Path, option: str) -> int:
    lowered = [h.strip().lower() for h in header]
    if wanted:
        if wanted.strip().lower() not in lowered:
            raise DataError(f"label file {path} has no column {wanted!r} (columns: {', '.join(header)}); fix {setting(option, '...')}")
        return lowered.index(wanted.strip().lower())
    for name in known:
        if name in lowered:
            return lowered.index(name)
    if fallback >= len(header):
        raise DataError(f"label file {path} has {len(header)} column(s); it needs an image column and a label column")
    return fallback


def _read_csv(path: Path) -> list[list[str]]:
    if not path.is_file():
        raise DataError(f"label file {path} does not exist; give a CSV with an image column and a label column "
                        f"({setting('labels', 'PATH')})")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"label file {path} is not a readable CSV ({exc}); give a UTF-8 CSV with a header line") from None
    if not rows or not any(c.strip() for c in rows[0]):
        raise DataError(f"label file {path} is empty or has no header line; give a CSV with a header line")
    return rows


def read_label_table(path: str | Path, image_column: str = "", label_column: str = "", sep: str = " ",
                     no_label: str = NO_LABEL) -> tuple[list[str], list[list[str]]]:
    """(image values, sorted label names per image) of one label table, in file order."""
    path = Path(path)
    rows = _read_csv(path)
    header = rows[0]
    ic = _pick(header, image_column, IMAGE_COLUMNS, 0, path, "image_column")
    lc = _pick(header, label_column, LABEL_COLUMNS, 1 if ic != 1 else 0, path, "label_column")
    if ic == lc:
        raise DataError(f"label file {path}: image and label columns are both {header[ic]!r}; set image_column / label_column")
    images: list[str] = []
    labels: list[list[str]] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) <= max(ic, lc):
            raise DataError(f"label file {path}, line {number}: {len(row)} field(s), expected at least {max(ic, lc) + 1}; fix that line")
        image = row[ic].strip()
        if not image:
            raise DataError(f"label file {path}, line {number}: empty image field; fix that line")
        if image in seen:
            raise DataError(f"label file {path}, line {number}: image {image!r} is listed twice (line {seen[image]}); keep one line per image")
        seen[image] = number
        parts = row[lc].split(sep) if sep else row[lc].split()
        images.append(image)
        labels.append(sorted({p.strip() for p in parts if p.strip() and p.strip() != no_label}))
    if not images:
        raise DataError(f"label file {path} has a header but no rows; add the images")
    return images, labels


def multi_hot(names: list[list[str]], classes: list[str]) -> np.ndarray:
    """[N, C] uint8 labels of `names` (label lists) over `classes`."""
    index = {n: i for i, n in enumerate(classes)}
    y = np.zeros((len(names), len(classes)), dtype=np.uint8)
    for r, row in enumerate(names):
        y[r, [index[n] for n in row]] = 1
    return y
