"""Split files: pinned sha256, text id lists, the restricted unpickler, the stray COCO draft, downloads."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import shutil
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from ltml_bench.data import splits
from ltml_bench.errors import DataError


def appendix(reference_dir: Path) -> Path:
    return reference_dir / "db_loss_appendix"


# -- pins and the real files ----------------------------------------------------------------------


def test_pins_equal_the_original_files(reference_dir: Path) -> None:
    files = {
        ("voc_lt", "img_id.txt"): "voc_longtail2012/img_id.txt",
        ("voc_lt", "class_freq.pkl"): "voc_longtail2012/class_freq.pkl",
        ("voc_lt", "class_split.pkl"): "voc_longtail2012/class_split.pkl",
        ("coco_lt", "img_id.pkl"): "coco_longtail2017/img_id.pkl",
        ("coco_lt", "class_freq.pkl"): "coco_longtail2017/class_freq.pkl",
        ("coco_lt", "class_split.pkl"): "coco_longtail2017/class_split.pkl",
    }
    assert set(files) == set(splits.PUBLISHED)
    for key, rel in files.items():
        path = appendix(reference_dir) / rel
        assert splits.sha256_of(path) == splits.PUBLISHED[key].sha256, key
        assert path.stat().st_size == splits.PUBLISHED[key].size, key


def test_real_id_lists(reference_dir: Path) -> None:
    voc = splits.read_id_list(appendix(reference_dir) / "voc_longtail2012/img_id.txt")
    coco = splits.read_id_list(appendix(reference_dir) / "coco_longtail2017/img_id.pkl")  # text despite .pkl
    assert len(voc) == 1142 and voc[0] == "2008_000023"
    assert len(coco) == 1909 and all(i.isdigit() for i in coco)


def test_real_class_freq_through_restricted_unpickler(reference_dir: Path) -> None:
    stats = json.loads((reference_dir / "voc_lt_stats.json").read_text())
    freq = splits.read_class_freq(appendix(reference_dir) / "voc_longtail2012/class_freq.pkl", 20)
    assert freq["gt_labels"].shape == (1142, 20)
    assert freq["gt_labels"].sum(axis=0).tolist() == stats["class_freq"]
    assert freq["condition_prob"].shape == (20, 20)
    split = splits.read_class_split(appendix(reference_dir) / "voc_longtail2012/class_split.pkl", 20)
    assert {g: sorted(v) for g, v in split.items()} == stats["class_split"]
    coco_stats = json.loads((reference_dir / "coco_lt_stats.json").read_text())
    coco = splits.read_class_freq(appendix(reference_dir) / "coco_longtail2017/class_freq.pkl", 80)
    assert coco["gt_labels"].shape == (1909, 80)
    assert coco["gt_labels"].sum(axis=0).tolist() == coco_stats["class_freq"]
    coco_split = splits.read_class_split(appendix(reference_dir) / "coco_longtail2017/class_split.pkl", 80)
    assert tuple(len(coco_split[g]) for g in ("head", "middle", "tail")) == (22, 33, 25)
    assert splits.group_sizes(coco["class_freq"]) == (22, 33, 25)
    assert splits.group_sizes(freq["class_freq"]) == (6, 6, 8)


def test_class_freq_of_wrong_dataset_refused(reference_dir: Path) -> None:
    with pytest.raises(DataError, match="80 classes, expected 20"):
        splits.read_class_freq(appendix(reference_dir) / "coco_longtail2017/class_freq.pkl", 20)


# -- the restricted unpickler ---------------------------------------------------------------------


class _Evil:
    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return (self.func, (self.arg,))


@pytest.mark.parametrize("protocol", [2, 4])
def test_malicious_pickles_refused_without_running(tmp_path: Path, protocol: int) -> None:
    marker = tmp_path / "pwned"
    payloads = {
        "os_system": _Evil(os.system, f"touch {marker}"),
        "eval": _Evil(eval, f"open({str(marker)!r}, 'w').write('x')"),
        "exec": _Evil(exec, f"open({str(marker)!r}, 'w').write('x')"),
    }
    for name, evil in payloads.items():
        path = tmp_path / f"{name}.pkl"
        path.write_bytes(pickle.dumps({"gt_labels": evil}, protocol=protocol))
        with pytest.raises(DataError, match="refused"):
            splits.safe_load_pickle(path)
        with pytest.raises(DataError, match="refused"):
            splits.read_class_freq(path)
        assert not marker.exists(), name


def test_object_arrays_and_foreign_classes_refused(tmp_path: Path) -> None:
    path = tmp_path / "objects.pkl"
    path.write_bytes(pickle.dumps({"x": np.array([1, "a"], dtype=object)}, protocol=2))
    with pytest.raises(DataError, match="refused"):
        splits.safe_load_pickle(path)
    path.write_bytes(pickle.dumps({"x": Path("/etc/passwd")}, protocol=2))
    with pytest.raises(DataError, match="refused"):
        splits.safe_load_pickle(path)


def test_plain_numpy_pickles_load(tmp_path: Path) -> None:
    labels = np.array([[1, 0, 1], [0, 1, 1]], dtype=np.int64)
    value = {"gt_labels": labels, "class_freq": labels.sum(axis=0), "neg_class_freq": 2 - labels.sum(axis=0),
             "condition_prob": np.eye(3)}
    for protocol in (2, 4, 5):
        path = tmp_path / f"freq{protocol}.pkl"
        path.write_bytes(pickle.dumps(value, protocol=protocol))
        freq = splits.read_class_freq(path, 3)
        np.testing.assert_array_equal(freq["gt_labels"], labels)
    split_path = tmp_path / "split.pkl"
    split_path.write_bytes(pickle.dumps({"head": {0}, "middle": {1}, "tail": {2}}, protocol=2))
    assert splits.read_class_split(split_path, 3) == {"head": {0}, "middle": {1}, "tail": {2}}


def test_malformed_pickles_refused(tmp_path: Path, reference_dir: Path) -> None:
    data = (appendix(reference_dir) / "voc_longtail2012/class_freq.pkl").read_bytes()
    truncated = tmp_path / "class_freq.pkl"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="malformed"):
        splits.read_class_freq(truncated)
    text = tmp_path / "text.pkl"
    text.write_text("2008_000023\n")
    with pytest.raises(DataError):
        splits.read_class_freq(text)
    wrong = tmp_path / "wrong.pkl"
    wrong.write_bytes(pickle.dumps([1, 2, 3], protocol=2))
    with pytest.raises(DataError, match="not a class_freq.pkl"):
        splits.read_class_freq(wrong)
    bad_sums = tmp_path / "sums.pkl"
    bad_sums.write_bytes(pickle.dumps({"gt_labels": np.eye(3, dtype=np.int64), "class_freq": np.array([1, 1, 2])}, protocol=2))
    with pytest.raises(DataError, match="column sums"):
        splits.read_class_freq(bad_sums)
    overlap = tmp_path / "split.pkl"
    overlap.write_bytes(pickle.dumps({"head": {0, 1}, "middle": {1}, "tail": {2}}, protocol=2))
    with pytest.raises(DataError, match="overlap"):
        splits.read_class_split(overlap)


# -- id lists ------------------------------------------------------------------------------------


def test_id_list_rules(tmp_path: Path) -> None:
    good = tmp_path / "ids.txt"
    good.write_text("a\n\nb\r\nc\n")
    assert splits.read_id_list(good) == ["a", "b", "c"]
    cases = {
        "pickled.pkl": pickle.dumps(["a", "b"], protocol=2),
        "commas.txt": b"a,1\nb,2\n",
        "dupes.txt": b"a\nb\na\n",
        "empty.txt": b"\n\n",
        "latin.txt": "caf\xe9\n".encode("latin-1"),
    }
    messages = {"pickled.pkl": "binary", "commas.txt": "not an image id", "dupes.txt": "repeats", "empty.txt": "no ids", "latin.txt": "not UTF-8"}
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(DataError, match=messages[name]):
            splits.read_id_list(path)
    with pytest.raises(DataError, match="does not exist"):
        splits.read_id_list(tmp_path / "missing.txt")


# -- the stray COCO draft --------------------------------------------------------------------------


def test_stray_draft_refused_by_name_and_content(tmp_path: Path, reference_dir: Path) -> None:
    real = appendix(reference_dir) / "coco_longtail2017/img_id.pkl"
    by_name = tmp_path / "longtail2017img_id.pkl"
    shutil.copy(real, by_name)  # even a correct list is refused under the draft's name
    with pytest.raises(DataError, match="stray COCO-LT draft"):
        splits.read_id_list(by_name)
    by_content = tmp_path / "ids.txt"
    by_content.write_text("".join(f"{i}\n" for i in splits.DRAFT_ID_HEAD + ("100", "200")))
    with pytest.raises(DataError, match="draft"):
        splits.read_id_list(by_content)
    groups = {"head": set(range(23)), "middle": set(range(23, 52)), "tail": set(range(52, 80))}
    draft_split = tmp_path / "class_split.pkl"
    draft_split.write_bytes(pickle.dumps(groups, protocol=2))
    with pytest.raises(DataError, match="23/29/28"):
        splits.read_class_split(draft_split, 80)
    named = tmp_path / "longtail2017class_split.pkl"
    shutil.copy(appendix(reference_dir) / "coco_longtail2017/class_split.pkl", named)
    with pytest.raises(DataError, match="stray COCO-LT draft"):
        splits.read_class_split(named, 80)


# -- the pinned download ---------------------------------------------------------------------------


class _Response(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *args):
        return False


def test_download_is_verified_and_cached(tmp_path: Path, reference_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LTML_BENCH_CACHE", str(tmp_path / "cache"))
    original = (appendix(reference_dir) / "voc_longtail2012/img_id.txt").read_bytes()
    calls: list[str] = []

    def offline(url, timeout=None):
        calls.append(url)
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(splits.urllib.request, "urlopen", offline)
    with pytest.raises(DataError, match=r"settings\['split_file'\]='PATH'"):  # the Python spelling (the CLI's: --set split_file=PATH)
        splits.published_file("voc_lt")
    assert calls and all(u.startswith("https://raw.githubusercontent.com/wutong16/DistributionBalancedLoss/") for u in calls)

    monkeypatch.setattr(splits.urllib.request, "urlopen", lambda url, timeout=None: _Response(original[:-5] + b"evil\n"))
    with pytest.raises(DataError, match="differs from the pinned"):
        splits.published_file("voc_lt")
    assert not (tmp_path / "cache/splits/voc_lt/img_id.txt").exists()

    monkeypatch.setattr(splits.urllib.request, "urlopen", lambda url, timeout=None: _Response(original))
    path = splits.published_file("voc_lt")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == splits.published_sha256("voc_lt")

    monkeypatch.setattr(splits.urllib.request, "urlopen", offline)
    calls.clear()
    assert splits.published_file("voc_lt") == path  # served from the cache, no network
    assert calls == []
    path.write_bytes(b"tampered\n")  # a tampered cache is not trusted
    with pytest.raises(DataError, match="could not download"):
        splits.published_file("voc_lt")
