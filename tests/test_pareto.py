"""The Pareto subset builder on the real VOC2012 trainval pool, and `ltml-bench data pareto`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import cli

from ltml_bench.data.pareto import cooccurrence_order, pareto_reference_counts, pareto_subset
from ltml_bench.data.splits import group_sizes, published_sha256, read_label_csv


@pytest.fixture(scope="module")
def voc_pool(reference_dir: Path):
    ids, classes, labels = read_label_csv(reference_dir / "voc2012_trainval_image_labels.csv")
    stats = json.loads((reference_dir / "voc_lt_stats.json").read_text())
    assert classes == stats["class_names"]  # sorted names = VOC's alphabetical order
    published = (reference_dir / "db_loss_appendix/voc_longtail2012/img_id.txt").read_text().split()
    return ids, labels, np.asarray(stats["class_freq"]), published


def test_reference_counts() -> None:
    ref = pareto_reference_counts(20, alpha=6, max_count=800, min_count=1)
    assert ref.tolist() == [800, 529, 359, 248, 175, 125, 91, 67, 50, 38, 29, 23, 18, 14, 11, 9, 7, 6, 5, 4]
    assert pareto_reference_counts(80, 6, 1200, 1)[0] == 1200


def test_visit_order_is_cooccurrence_not_frequency(voc_pool) -> None:
    _, labels, _, _ = voc_pool
    order = cooccurrence_order(labels).tolist()
    assert order[:4] == [14, 8, 6, 10]  # person, chair, car, diningtable
    assert order != np.argsort(-labels.sum(axis=0), kind="stable").tolist()


def test_python_stream_seed0_replays_the_published_list(voc_pool) -> None:
    ids, labels, published_counts, published = voc_pool
    subset = pareto_subset(labels, alpha=6, max_count=800, min_count=1, seed=0, stream="python")
    assert [ids[i] for i in subset.selection_order] == published  # same ids, same order as img_id.txt
    np.testing.assert_array_equal(subset.counts, published_counts)
    assert group_sizes(subset.counts) == (6, 6, 8)


@pytest.mark.parametrize("seed", range(5))
def test_other_seeds_stay_close_to_the_published_shape(voc_pool, seed: int) -> None:
    _, labels, published_counts, _ = voc_pool
    subset = pareto_subset(labels, alpha=6, max_count=800, min_count=1, seed=seed, stream="python")
    assert 1100 <= len(subset.indices) <= 1200
    deviation = np.abs(subset.counts - published_counts)
    assert deviation.max() <= 30, deviation
    tail = published_counts < 20
    assert deviation[tail].max() <= 2  # the tail is pinned by the reference counts
    assert group_sizes(subset.counts) in ((6, 6, 8), (5, 7, 8))


def test_numpy_stream_is_the_unchanged_default(voc_pool) -> None:
    """The default stream must not move (synth_lt's cached data depends on it)."""
    _, labels, published_counts, _ = voc_pool
    subset = pareto_subset(labels, alpha=6, max_count=800, min_count=1, seed=0)
    assert len(subset.indices) == 1143
    assert int(np.abs(subset.counts - published_counts).max()) == 12
    np.testing.assert_array_equal(subset.selection_order, subset.indices)
    with pytest.raises(ValueError, match="stream"):
        pareto_subset(labels, stream="bogus")


def test_cli_pareto_writes_the_published_file(tmp_path: Path, reference_dir: Path) -> None:
    out = tmp_path / "ids.txt"
    proc = cli("data", "pareto", "--labels", str(reference_dir / "voc2012_trainval_image_labels.csv"),
               "--alpha", "6", "--max", "800", "--seed", "0", "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["images"] == 1142 and payload["groups"] == {"head": 6, "middle": 6, "tail": 8}
    person = payload["classes"].index("person")
    assert payload["counts"][person] == 775 and payload["reference"][person] == 800
    assert hashlib.sha256(out.read_bytes()).hexdigest() == published_sha256("voc_lt")
    table = cli("data", "pareto", "--labels", str(reference_dir / "voc2012_trainval_image_labels.csv"),
                "--seed", "1", "--out", str(tmp_path / "ids1.txt"))
    assert table.returncode == 0, table.stderr
    assert "reference" in table.stdout and "person" in table.stdout and "head/middle/tail" in table.stdout


def test_cli_pareto_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("image_id,labels\na\n")
    proc = cli("data", "pareto", "--labels", str(bad), "--out", str(tmp_path / "x.txt"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "line 2: 1 field(s), expected at least 2" in lines[0] and str(bad) in lines[0]
    missing = cli("data", "pareto", "--labels", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "x.txt"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert not (tmp_path / "x.txt").exists()


def test_cli_pareto_reads_every_label_table_the_csv_dataset_reads(tmp_path: Path) -> None:
    """The same pool as `image_id,labels`, as ChestX-ray14's `Image Index,Finding Labels` with '|' and
    'No Finding', and with extra columns and named columns: the same ids are drawn."""
    rng = np.random.default_rng(3)
    classes = ["a", "b", "c", "d"]
    pool = [[c for k, c in enumerate(classes) if rng.random() < 0.6 / (k + 1)] for _ in range(300)]
    tables = {
        "plain.csv": ("image_id,labels", [f"img{i},{' '.join(names)}" for i, names in enumerate(pool)], []),
        "chest.csv": ("Image Index,Finding Labels,Patient Age",
                      [f"img{i},{'|'.join(names) or 'No Finding'},{40 + i % 9}" for i, names in enumerate(pool)], ["--label-sep", "|"]),
        "named.csv": ("score,tags,file", [f"0.5,{';'.join(names)},img{i}" for i, names in enumerate(pool)],
                      ["--label-sep", ";", "--image-column", "file", "--label-column", "tags"]),
    }
    drawn = {}
    for name, (header, rows, options) in tables.items():
        (tmp_path / name).write_text("\n".join([header, *rows]) + "\n")
        proc = cli("data", "pareto", "--labels", str(tmp_path / name), "--max", "120", "--out", str(tmp_path / f"{name}.ids"), "--json", *options)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["classes"] == classes
        drawn[name] = (tmp_path / f"{name}.ids").read_text()
    assert drawn["plain.csv"] == drawn["chest.csv"] == drawn["named.csv"] and drawn["plain.csv"]
