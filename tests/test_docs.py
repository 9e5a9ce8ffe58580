"""`ltml-bench docs`: method pages generated from the registry."""

from __future__ import annotations

from pathlib import Path

from ltml_bench.docs import write_method_docs
from ltml_bench.registry import METHODS


def test_one_page_per_method_with_docstring_defaults_sweep_and_numbers(tmp_path: Path) -> None:
    written = write_method_docs(tmp_path)
    names = {m.name for m in METHODS.all()}
    assert {p.stem for p in written} == names | {"index"}
    hmt = (tmp_path / "hmt.md").read_text()
    assert hmt.startswith("# HMT-Net (`hmt`)")
    assert "Formula: sigma_g = lambda" in hmt  # the module docstring
    assert "| `lam` | head | 2.0 | 0.0, 0.5, 1.0, 2.0, 4.0, 8.0 |" in hmt
    assert "| voc_lt | 73.44 | 83.86 | 79.33 | 78.92 |" in hmt
    index = (tmp_path / "index.md").read_text()
    assert all(f"[`{n}`]({n}.md)" in index for n in names)
