"""`ltml-bench bench --quick --json`: one JSON object with the speed ratios, and a record file."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import cli


def test_bench_quick_json(tmp_path: Path) -> None:
    proc = cli("bench", "--quick", "--json", "--threads", "1", "--out", str(tmp_path), timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    for key in ("device", "ap_speedup_vs_sklearn", "harness_vs_plain_loop", "pipeline_vs_torchvision", "peak_memory_mb"):
        assert key in record, key
    assert record["device"] == "cpu" or record["device"].startswith("cuda")
    # ours and scikit-learn agree on 5,000 x 80 scores with ties
    assert record["ap_max_abs_diff"] <= 1e-6
    assert record["ap_shape"] == [5000, 80]
    for key in ("ap_speedup_vs_sklearn", "harness_vs_plain_loop", "pipeline_vs_torchvision", "peak_memory_mb"):
        assert record[key] > 0
    written = list(tmp_path.glob("*.json"))
    assert len(written) == 1 and written[0].name.startswith(record["device"])
    assert json.loads(written[0].read_text())["ap_max_abs_diff"] == record["ap_max_abs_diff"]
