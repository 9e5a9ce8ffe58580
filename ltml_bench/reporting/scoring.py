"""`ltml-bench evaluate`: the head / middle / tail / all report of a user's own predictions.

The scores are matched by image id against the dataset's test split
(`get_dataset(name).build(**options)`); the groups come from the dataset's training counts with
the same `GroupRule` as a run (`head_min`, `tail_below`, `--set`-able), and AP is the harness's
(`ltml_bench.metrics.group_report`), so a run's own `scores.npz` evaluates to exactly its record's
`map`. Accepted files:

- CSV with a header: `image_id,<class names...>` (any column order; names must be the dataset's
  class names), or `image_id` followed by C unnamed (empty or 0..C-1) columns in class order;
  one row per test image.
- `.npz` with `ids` [N] and `scores` [N, C] (optional `class_names` [C]), like a run's scores.npz.
- `.npy`: a [N, C] array whose rows follow the test split's order (it carries no ids).

Anything else (missing, extra or duplicate ids, a wrong class count, non-numeric or non-finite
values) is refused with one line naming the problem (`UserError`).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ltml_bench.errors import UserError, option
from ltml_bench.runs.records import record_problem

ID_COLUMN = "image_id"


def _examples(items: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(repr(i) for i in list(items)[:limit])
    return shown + (", ..." if len(items) > limit else "")


def _reject(path: Path, problem: str) -> UserError:
    return UserError(f"{option('--scores', 'scores', str(path))}: {problem}")


def _column_order(path: Path, header: list[str], class_names: list[str]) -> list[int] | None:
    """Index into the file's score columns for each class (None: the file's order is the class order)."""
    names = [h.strip() for h in header]
    c = len(class_names)
    if all(not n for n in names) or names == [str(i) for i in range(len(names))]:
        if len(names) != c:
            raise _reject(path, f"header has {len(names)} score column(s), the dataset has {c} classes")
        return None
    if len(names) != c:
        raise _reject(path, f"header has {len(names)} score column(s), the dataset has {c} classes ({_examples(class_names)})")
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise _reject(path, f"class column(s) {_examples(duplicated)} appear more than once in the header")
    unknown = [n for n in names if n not in class_names]
    if unknown:
        missing = [n for n in class_names if n not in names]
        raise _reject(path, f"header names {len(unknown)} unknown class(es) ({_examples(unknown)}); missing: {_examples(missing)}")
    position = {n: i for i, n in enumerate(names)}
    return [position[n] for n in class_names]


def _read_csv(path: Path, class_names: list[str]) -> tuple[list[str], np.ndarray]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError:
        raise _reject(path, "not a UTF-8 text file; give a CSV, .npz or .npy file") from None
    except csv.Error as exc:
        raise _reject(path, f"malformed CSV ({exc})") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise _reject(path, "the file is empty; expected a header `image_id,<class names...>` and one row per test image")
    header = rows[0]
    if header[0].strip() != ID_COLUMN:
        raise _reject(path, f"the first header field is {header[0].strip()!r}, expected {ID_COLUMN!r} (header: image_id,<class names...>)")
    order = _column_order(path, header[1:], class_names)
    width = len(header)
    ids: list[str] = []
    values = np.empty((len(rows) - 1, width - 1), dtype=np.float64)
    for r, row in enumerate(rows[1:]):
        line = r + 2
        if len(row) != width:
            raise _reject(path, f"line {line}: {len(row)} field(s), expected {width} (image_id + {width - 1} class scores)")
        ids.append(row[0].strip())
        for c, cell in enumerate(row[1:]):
            try:
                value = float(cell)
            except ValueError:
                raise _reject(path, f"line {line}, column {header[c + 1].strip() or c + 2}: {cell.strip()!r} is not a number") from None
            if not math.isfinite(value):
                raise _reject(path, f"line {line}, column {header[c + 1].strip() or c + 2}: {cell.strip()} is not a finite score")
            values[r, c] = value
    if order is not None:
        values = values[:, order]
    return ids, values


def _read_npz(path: Path, class_names: list[str]) -> tuple[list[str], np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            keys = set(data.files)
            if not {"ids", "scores"} <= keys:
                raise _reject(path, f"a .npz needs arrays 'ids' [N] and 'scores' [N, C]; it holds {sorted(keys)}")
            ids, scores = data["ids"], data["scores"]
            names = data["class_names"] if "class_names" in keys else None
    except UserError:
        raise
    except ValueError as exc:  # object arrays need pickle, which is never enabled
        raise _reject(path, f"cannot read it without pickle ({exc}); save plain string and number arrays") from None
    except Exception as exc:  # noqa: BLE001 - zip / format errors of a corrupt file
        raise _reject(path, f"not a readable .npz file ({type(exc).__name__}: {exc})") from None
    if ids.ndim != 1:
        raise _reject(path, f"'ids' has shape {ids.shape}, expected [N]")
    scores = _check_array(path, scores, len(class_names))
    if len(ids) != scores.shape[0]:
        raise _reject(path, f"{len(ids)} ids but {scores.shape[0]} score rows")
    if names is not None:
        names = [str(n) for n in np.asarray(names).ravel()]
        if names != list(class_names):
            order = _column_order(path, names, list(class_names))
            if order is not None:
                scores = scores[:, order]
    return [str(i) for i in ids], scores


def _check_array(path: Path, scores: np.ndarray, num_classes: int) -> np.ndarray:
    if scores.ndim != 2:
        raise _reject(path, f"scores have shape {scores.shape}, expected [N, {num_classes}]")
    if scores.shape[1] != num_classes:
        raise _reject(path, f"scores have {scores.shape[1]} columns, the dataset has {num_classes} classes")
    if not np.issubdtype(scores.dtype, np.number) or np.issubdtype(scores.dtype, np.complexfloating):
        raise _reject(path, f"scores have dtype {scores.dtype}, expected numbers")
    bad = ~np.isfinite(scores)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise _reject(path, f"{int(bad.sum())} non-finite score(s), first at row {row}, class {col} ({scores[row, col]})")
    return scores


def load_scores(path: str | Path, test_ids: Sequence[str], class_names: Sequence[str]) -> np.ndarray:
    """Scores [N_test, C] in the order of `test_ids` and `class_names`, or a one-line `UserError`."""
    path = Path(path)
    class_names = list(class_names)
    if not path.is_file():
        raise _reject(path, "no such file" if not path.exists() else "not a file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        ids, scores = _read_csv(path, class_names)
    elif suffix == ".npz":
        ids, scores = _read_npz(path, class_names)
    elif suffix == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except Exception as exc:  # noqa: BLE001
            raise _reject(path, f"not a readable .npy array ({type(exc).__name__}: {exc})") from None
        scores = _check_array(path, array, len(class_names))
        if scores.shape[0] != len(test_ids):
            raise _reject(path, f"{scores.shape[0]} rows, the test split has {len(test_ids)} images (a .npy carries no ids: rows must follow the test split's order)")
        return scores
    else:
        raise _reject(path, f"unsupported file type {suffix or '(none)'!r}; give a .csv, .npz or .npy file")
    if not ids:
        raise _reject(path, "no score rows")
    position: dict[str, int] = {}
    duplicates = []
    for row, image_id in enumerate(ids):
        if image_id in position:
            duplicates.append(image_id)
        position[image_id] = row
    if duplicates:
        raise _reject(path, f"{len(duplicates)} duplicate id(s) ({_examples(duplicates)}); give one row per test image")
    expected = set(test_ids)
    extra = [i for i in ids if i not in expected]
    if extra:
        raise _reject(path, f"{len(extra)} id(s) not in the test split ({_examples(extra)}); expected ids such as {_examples(list(test_ids))}")
    missing = [i for i in test_ids if i not in position]
    if missing:
        raise _reject(path, f"{len(missing)} test image(s) have no scores ({_examples(missing)}); give one row per test image")
    return scores[[position[i] for i in test_ids]]


def evaluate(dataset: str, scores: str | Path, settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The head / middle / tail / all report of a scores file against `dataset`'s test split.

    `settings` (strings as from `--set`, or typed): the dataset's options and the group rule
    (`head_min`, `tail_below`). Returns a dict like a run record's metric part.
    """
    from ltml_bench.config import TrainConfig, parse_value, unknown_key_error
    from ltml_bench.metrics import GroupRule, group_report
    from ltml_bench.registry import get_dataset

    spec = get_dataset(dataset)
    options = dict(spec.options)
    rule_values = {k: spec.recipe.get(k, getattr(TrainConfig, k)) for k in ("head_min", "tail_below")}
    for key, raw in dict(settings or {}).items():
        target = options if key in options else rule_values if key in rule_values else None
        if target is None:
            raise unknown_key_error(key, sorted([*options, *rule_values]), f"evaluate on dataset {spec.name!r}")
        target[key] = parse_value(key, raw, target[key]) if isinstance(raw, str) else raw
    try:
        rule = GroupRule(int(rule_values["head_min"]), int(rule_values["tail_below"]))
    except ValueError as exc:
        raise UserError(f"--set: {exc}") from None
    from ltml_bench.data.interface import build_bundle

    bundle = build_bundle(spec, options)
    matrix = load_scores(scores, bundle.test.ids, bundle.class_names)
    counts = bundle.train.class_counts
    report = group_report(matrix, bundle.test.labels, counts, rule)
    result = {
        "dataset": bundle.name,
        "scores_file": str(scores),
        "map": report.map,
        "groups": report.groups,
        "group_rule": report.rule,
        "group_rule_text": rule.describe(),
        "class_names": list(bundle.class_names),
        "per_class_ap": report.per_class_ap,
        "train_counts": counts.tolist(),
        "classes_without_test_positives": [bundle.class_names[i] for i in report.classes_without_positives],
        "num_test_images": len(bundle.test),
    }
    problem = record_problem(result, required=("dataset", "map"))  # the validator `table` and `run` use
    if problem:
        raise UserError(f"{option('--scores', 'scores', str(scores))}: the report would be invalid ({problem}); check the scores file")
    return result
