"""Published long-tail split files: pinned download, safe reading, draft detection.

The VOC-LT and COCO-LT training subsets of Wu et al. (ECCV 2020) are published as id lists in the
repository `wutong16/DistributionBalancedLoss`, folder `appendix/` (docs/protocol.md section 3.1):

| dataset | file | format |
|---|---|---|
| voc_lt | `VOCdevkit/longtail2012/img_id.txt` | text, one VOC2012 id per line (1,142) |
| coco_lt | `coco/longtail2017/img_id.pkl` | plain TEXT despite the name, one COCO id per line (1,909) |
| both | `class_freq.pkl`, `class_split.pkl` beside the id list | Python 2 pickles of numpy arrays, dicts, sets |

`published_file(dataset, name)` returns a local copy: from the cache (`ltml_bench.data.cache_dir()
/ "splits"`) when present and intact, else downloaded from the raw GitHub URL and checked against
a pinned sha256 (computed from the original files) before it is written, atomically. Offline, pass
a local copy instead (`--set split_file=PATH`).

Reading is safe by construction:
- id lists are read as UTF-8 text, never unpickled (a file that starts like a pickle is refused);
- pickles go through `safe_load_pickle`, a restricted unpickler that resolves only numpy's
  array-reconstruction globals (`_reconstruct`, `ndarray`, `dtype`, `scalar`, and protocol 5's
  `_frombuffer`, all without object dtypes), `_codecs.encode` for latin-1 byte strings (how
  Python 2 pickles carry array bytes), and the builtins `set`, `dict`, `list`. Any other global (`os.system`, `builtins.eval`, ...) is
  refused before anything is called, and the loaded value is checked to hold only those types.
- the stray COCO draft files at `appendix/coco/longtail2017class_split.pkl` and
  `appendix/coco/longtail2017img_id.pkl` (an older 23 / 29 / 28 split, committed beside the real
  folder by mistake) are recognised by name and by content and refused with an explanation.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ltml_bench.errors import DataError, setting

REPO_URL = "https://raw.githubusercontent.com/wutong16/DistributionBalancedLoss"


@dataclass(frozen=True)
class PublishedFile:
    dataset: str
    name: str  # file name in the cache
    repo_path: str  # path in the DB repository
    sha256: str
    size: int
    commit: str  # a commit holding exactly this file (tried before the default branch)

    @property
    def urls(self) -> list[str]:
        return [f"{REPO_URL}/{self.commit}/{self.repo_path}", f"{REPO_URL}/master/{self.repo_path}"]


_C_ID = "38ef08934efafa23a7263f0006a15c07367d6c3b"
_C_APPENDIX = "8f913268682508bdc8b3e051cd31b7e70a8631d5"

PUBLISHED: dict[tuple[str, str], PublishedFile] = {
    (f.dataset, f.name): f
    for f in (
        PublishedFile("voc_lt", "img_id.txt", "appendix/VOCdevkit/longtail2012/img_id.txt",
                      "6e49185d5421236718f7393e952f5790e5c0cfeb1694892b1b971f59725d5ebc", 13704, _C_ID),
        PublishedFile("voc_lt", "class_freq.pkl", "appendix/VOCdevkit/longtail2012/class_freq.pkl",
                      "cc7c8c401a2ffb8b47a5b0c2eca55a3b485cfa6658581c33e27ccbd27b145c5d", 269857, _C_APPENDIX),
        PublishedFile("voc_lt", "class_split.pkl", "appendix/VOCdevkit/longtail2012/class_split.pkl",
                      "4400870c72d66673dd58f46f9102633579c0c70d6c1c33a0496edb4008cb04bc", 918, _C_APPENDIX),
        PublishedFile("coco_lt", "img_id.pkl", "appendix/coco/longtail2017/img_id.pkl",
                      "f31e853d2c7b69512c62b65ff1db067a49b3ab86a62f685c7da86b7c3dd04768", 13023, _C_APPENDIX),
        PublishedFile("coco_lt", "class_freq.pkl", "appendix/coco/longtail2017/class_freq.pkl",
                      "7edbc381296400727d1fd8afa01af51403de8d0e892230e16312b2ae7f6a469c", 1421819, _C_APPENDIX),
        PublishedFile("coco_lt", "class_split.pkl", "appendix/coco/longtail2017/class_split.pkl",
                      "923d001a2d117e250caf48833f7082dc090aa405a1769489bf66137c8a2c5560", 3519, _C_APPENDIX),
    )
}
ID_LIST_NAME = {"voc_lt": "img_id.txt", "coco_lt": "img_id.pkl"}

# The stray COCO draft (appendix/coco/longtail2017img_id.pkl, longtail2017class_split.pkl).
DRAFT_NAMES = frozenset({"longtail2017img_id.pkl", "longtail2017class_split.pkl"})
DRAFT_GROUP_SIZES = (23, 29, 28)
DRAFT_ID_HEAD = ("222564", "185989", "375245", "518026", "23315", "265355", "420485", "405862")
DRAFT_HELP = (
    "it is the stray COCO-LT draft committed at appendix/coco/longtail2017*.pkl (an older 23/29/28 "
    "head/middle/tail split, not the published COCO-LT); use appendix/coco/longtail2017/img_id.pkl "
    "(1,909 ids) or leave split_file empty to download the published list"
)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def published_sha256(dataset: str, name: str | None = None) -> str:
    return PUBLISHED[(dataset, name or ID_LIST_NAME[dataset])].sha256


def is_published_file(path: Path, dataset: str, name: str | None = None) -> bool:
    """True when `path` is byte-for-byte the published file (pinned sha256)."""
    key = (dataset, name or ID_LIST_NAME[dataset])
    return key in PUBLISHED and path.is_file() and sha256_of(path) == PUBLISHED[key].sha256


def published_file(dataset: str, name: str | None = None, timeout: float = 30.0) -> Path:
    """A verified local copy of a published file: the cache, else a pinned download."""
    from ltml_bench.storage.cache import cache_dir
    from ltml_bench.storage.files import atomic_write_bytes

    ref = PUBLISHED[(dataset, name or ID_LIST_NAME[dataset])]
    target = cache_dir() / "splits" / dataset / ref.name
    if target.is_file():
        if sha256_of(target) == ref.sha256:
            return target
        target.unlink(missing_ok=True)  # a corrupt or tampered cache is fetched again, never trusted
    errors = []
    for url in ref.urls:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - fixed https URLs
                data = response.read(ref.size + 1)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            errors.append(f"{url}: {getattr(exc, 'reason', exc)}")
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest != ref.sha256:
            errors.append(f"{url}: sha256 {digest[:12]}... differs from the pinned {ref.sha256[:12]}...")
            continue
        atomic_write_bytes(target, data)
        return target
    raise DataError(
        f"could not download the published {dataset} file {ref.repo_path} ({errors[-1] if errors else 'no URL'}); "
        f"offline, download it from https://github.com/wutong16/DistributionBalancedLoss elsewhere and pass "
        f"{setting('split_file', 'PATH')} (or place it at {target})"
    )


# -- id lists ------------------------------------------------------------------------------------


def _refuse_draft_name(path: Path) -> None:
    if path.name in DRAFT_NAMES:
        raise DataError(f"{path}: refused: {DRAFT_HELP}")


def read_id_list(path: str | Path) -> list[str]:
    """Ids, one per line, from a TEXT file (whatever its extension). Blank lines are ignored."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"split file {path} does not exist; give the path of a text file with one image id per line")
    _refuse_draft_name(path)
    data = path.read_bytes()
    if data[:1] == b"\x80" or b"\x00" in data:
        raise DataError(
            f"split file {path} is binary (a pickle?), not a text id list; give the text file with one image id per line "
            f"(the published COCO-LT img_id.pkl is plain text despite its name)"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"split file {path} is not UTF-8 text; give a text file with one image id per line") from None
    ids = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        item = line.strip()
        if not item:
            continue
        if any(ch in item for ch in " \t,;") or len(item) > 200:
            raise DataError(f"split file {path}, line {number}: {item[:40]!r} is not an image id; give one id per line")
        if item in seen:
            raise DataError(f"split file {path}, line {number}: id {item!r} repeats line {seen[item]}; give each id once")
        seen[item] = number
        ids.append(item)
    if not ids:
        raise DataError(f"split file {path} holds no ids; give a text file with one image id per line")
    if tuple(ids[: len(DRAFT_ID_HEAD)]) == DRAFT_ID_HEAD:
        raise DataError(f"{path}: refused: its ids begin like the draft list; {DRAFT_HELP}")
    return ids


# -- restricted unpickling -----------------------------------------------------------------------


def _numpy_globals() -> dict[tuple[str, str], Any]:
    try:
        from numpy._core import multiarray, numeric
    except ImportError:  # numpy < 2
        from numpy.core import multiarray, numeric  # type: ignore[no-redef]

    def safe_dtype(*args: Any) -> np.dtype:
        dtype = np.dtype(*args)
        if dtype.hasobject:
            raise pickle.UnpicklingError("object dtypes are not allowed")
        return dtype

    def safe_reconstruct(subtype: Any, *args: Any) -> Any:
        if subtype is not np.ndarray:
            raise pickle.UnpicklingError("only numpy.ndarray may be reconstructed")
        return multiarray._reconstruct(subtype, *args)

    def safe_scalar(dtype: Any, *args: Any) -> Any:
        if not isinstance(dtype, np.dtype) or dtype.hasobject:
            raise pickle.UnpicklingError("only plain numpy scalars are allowed")
        return multiarray.scalar(dtype, *args)

    def safe_frombuffer(buffer: Any, dtype: Any, *args: Any) -> Any:
        if not isinstance(buffer, (bytes, bytearray)) or not isinstance(dtype, np.dtype) or dtype.hasobject:
            raise pickle.UnpicklingError("only plain numpy buffers are allowed")
        return numeric._frombuffer(buffer, dtype, *args)

    def safe_encode(text: Any, encoding: str = "utf-8", *rest: Any) -> bytes:
        if not isinstance(text, str) or encoding.lower().replace("-", "") not in ("latin1", "iso88591") or rest:
            raise pickle.UnpicklingError("only latin-1 byte strings are allowed")
        return text.encode("latin-1")

    allowed: dict[tuple[str, str], Any] = {}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "_reconstruct")] = safe_reconstruct
        allowed[(module, "scalar")] = safe_scalar
    for module in ("numpy.core.numeric", "numpy._core.numeric"):
        allowed[(module, "_frombuffer")] = safe_frombuffer  # pickle protocol 5
    allowed[("numpy", "ndarray")] = np.ndarray
    allowed[("numpy", "dtype")] = safe_dtype
    allowed[("_codecs", "encode")] = safe_encode
    for module in ("builtins", "__builtin__"):
        allowed[(module, "set")] = set
        allowed[(module, "dict")] = dict
        allowed[(module, "list")] = list
    return allowed


class RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the globals of `_numpy_globals()`; everything else is refused unexecuted."""

    def __init__(self, file: Any) -> None:
        super().__init__(file, encoding="latin1")
        self._allowed = _numpy_globals()

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed") from None

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("persistent ids are not allowed")


def _check_plain(value: Any, depth: int = 0) -> None:
    if depth > 20:
        raise pickle.UnpicklingError("nested too deeply")
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise pickle.UnpicklingError("object arrays are not allowed")
        return
    if isinstance(value, np.generic):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _check_plain(key, depth + 1)
            _check_plain(item, depth + 1)
        return
    if isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            _check_plain(item, depth + 1)
        return
    raise pickle.UnpicklingError(f"a value of type {type(value).__name__} is not allowed")


def safe_load_pickle(path: str | Path) -> Any:
    """Load a pickle of numpy arrays, dicts, lists, sets and scalars; refuse anything else."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"pickle {path} does not exist; give the path of the published class_freq.pkl / class_split.pkl")
    try:
        value = RestrictedUnpickler(io.BytesIO(path.read_bytes())).load()
        _check_plain(value)
    except pickle.UnpicklingError as exc:
        raise DataError(
            f"pickle {path} refused ({exc}): only numpy arrays, dicts, lists and sets are accepted; "
            f"use the published class_freq.pkl / class_split.pkl"
        ) from None
    except Exception as exc:  # truncated or garbled data
        raise DataError(f"pickle {path} is malformed ({type(exc).__name__}: {exc}); download the file again") from None
    return value


def read_class_freq(path: str | Path, num_classes: int | None = None) -> dict[str, np.ndarray]:
    """The published `class_freq.pkl`: gt_labels [N, C], class_freq [C], neg_class_freq [C], condition_prob [C, C]."""
    path = Path(path)
    _refuse_draft_name(path)
    value = safe_load_pickle(path)
    if not isinstance(value, dict) or "gt_labels" not in value or "class_freq" not in value:
        raise DataError(f"{path} is not a class_freq.pkl (a dict with gt_labels and class_freq); give the published class_freq.pkl")
    out = {k: np.asarray(v) for k, v in value.items() if isinstance(v, (np.ndarray, list, np.generic))}
    labels = out["gt_labels"]
    if labels.ndim != 2 or not np.isin(labels, (0, 1)).all():
        raise DataError(f"{path}: gt_labels has shape {labels.shape} or values outside 0/1; give the published class_freq.pkl")
    if num_classes is not None and labels.shape[1] != num_classes:
        raise DataError(f"{path}: {labels.shape[1]} classes, expected {num_classes}; give the class_freq.pkl of this dataset")
    if out["class_freq"].shape != (labels.shape[1],) or not np.array_equal(out["class_freq"], labels.sum(axis=0)):
        raise DataError(f"{path}: class_freq does not equal the column sums of gt_labels; the file is damaged, download it again")
    return out


def read_class_split(path: str | Path, num_classes: int | None = None) -> dict[str, set[int]]:
    """The published `class_split.pkl`: {"head": set, "middle": set, "tail": set} of class indices."""
    path = Path(path)
    _refuse_draft_name(path)
    value = safe_load_pickle(path)
    if not isinstance(value, dict) or set(value) != {"head", "middle", "tail"}:
        raise DataError(f"{path} is not a class_split.pkl (a dict of head/middle/tail sets); give the published class_split.pkl")
    split = {g: {int(i) for i in value[g]} for g in ("head", "middle", "tail")}
    sizes = tuple(len(split[g]) for g in ("head", "middle", "tail"))
    total = set().union(*split.values())
    if sum(sizes) != len(total) or total != set(range(len(total))):
        raise DataError(f"{path}: head/middle/tail overlap or skip classes; the file is damaged, download it again")
    if num_classes is not None and len(total) != num_classes:
        raise DataError(f"{path}: {len(total)} classes, expected {num_classes}; give the class_split.pkl of this dataset")
    if len(total) == 80 and sizes == DRAFT_GROUP_SIZES:
        raise DataError(f"{path}: refused: its groups are 23/29/28; {DRAFT_HELP}")
    return split


# -- image-level label CSVs ------------------------------------------------------------------------


def read_label_csv(path: str | Path, sep: str = " ", image_column: str = "", label_column: str = "",
                   no_label: str = "No Finding") -> tuple[list[str], list[str], np.ndarray]:
    """A label table (any format `--dataset csv` reads: `image_id,labels`, ChestX-ray14's
    `Image Index,Finding Labels`, extra columns; `ltml_bench.data.label_table`) -> (ids, sorted
    class names, labels [N, C])."""
    from ltml_bench.data.label_table import multi_hot, read_label_table

    ids, names = read_label_table(path, image_column, label_column, sep, no_label)
    classes = sorted({n for row in names for n in row})
    return ids, classes, multi_hot(names, classes)


def group_sizes(counts: Sequence[int] | np.ndarray, head_min: int = 100, tail_below: int = 20) -> tuple[int, int, int]:
    """(head, middle, tail) class counts: head n >= head_min, middle tail_below <= n < head_min, tail n < tail_below."""
    c = np.asarray(counts)
    return int((c >= head_min).sum()), int(((c >= tail_below) & (c < head_min)).sum()), int((c < tail_below).sum())
