"""Rules of the test suite itself: no test asserts elapsed wall time (a busy CI machine must not
fail a landing; speed lives in `ltml-bench bench`), and installed third-party plugins are ignored
unless a test installs its own."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
CLOCKS = {"perf_counter", "monotonic", "time", "process_time", "perf_counter_ns", "monotonic_ns", "time_ns"}


def _clock_names(tree: ast.AST) -> set[str]:
    """Names bound from a clock reading (`started = time.perf_counter()`), a function's worth."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and _reads_clock(node.value):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _reads_clock(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in CLOCKS
               and isinstance(n.func.value, ast.Name) and n.func.value.id == "time" for n in ast.walk(node))


def wall_time_assertions(source: str) -> list[int]:
    """Line numbers of asserts that read a clock or a variable holding a clock reading."""
    tree = ast.parse(source)
    clocked = _clock_names(tree) | {"elapsed", "duration", "seconds_taken"}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            names = {n.id for n in ast.walk(node.test) if isinstance(n, ast.Name)}
            if _reads_clock(node.test) or names & clocked:
                found.append(node.lineno)
    return found


def test_the_detector_finds_wall_time_asserts() -> None:
    assert wall_time_assertions("import time\nstart = time.perf_counter()\nrun()\nassert time.perf_counter() - start < 10\n") == [4]
    assert wall_time_assertions("import time\nt0 = time.time()\nx = 1\nassert x == 1\nassert t0 > 0\n") == [5]
    assert wall_time_assertions("def f(record):\n    assert record['train_seconds'] >= 0\n") == []


@pytest.mark.parametrize("path", sorted(TESTS.glob("test_*.py")), ids=lambda p: p.name)
def test_no_test_asserts_elapsed_wall_time(path: Path) -> None:
    lines = wall_time_assertions(path.read_text())
    assert not lines, f"{path.name}: lines {lines} assert wall time; move the figure into `ltml-bench bench`"


def test_installed_plugins_are_ignored_by_the_suite() -> None:
    from ltml_bench.registry import METHODS

    assert os.environ.get("LTML_BENCH_NO_PLUGINS") == "1"
    assert METHODS.plugin_entry_points() == []
