"""Trust: usage mistakes are one line, nothing read from a run folder executes code, damaged
inputs never become results (issue 12)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import cli


def _one_line_error(result, status: int = 2) -> str:
    assert result.returncode == status, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


USAGE_MISTAKES = {
    "unknown option": (["run", "--nosuch"], "No such option: --nosuch"),
    "unknown command": (["frobnicate"], "No such command 'frobnicate'"),
    "unknown data command": (["data", "frobnicate"], "No such command 'frobnicate'"),
    "seed list": (["run", "--seed", "0,1"], "Invalid value for '--seed'"),
    "sweep without methods": (["sweep"], "Missing option '--methods'"),
    "option without value": (["run", "--epochs"], "requires an argument"),
    "epochs not a number": (["run", "--epochs", "x"], "Invalid value for '--epochs'"),
}


@pytest.mark.parametrize("case", sorted(USAGE_MISTAKES))
def test_usage_mistakes_are_one_line_exit_2(case: str, tmp_path: Path) -> None:
    args, expected = USAGE_MISTAKES[case]
    line = _one_line_error(cli(*args))
    assert line.startswith("ltml-bench: error: ") and expected in line
    assert "--help" in line  # says where to look


def test_version_prints_the_version() -> None:
    from ltml_bench._version import __version__

    result = cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"ltml-bench {__version__}"
    assert "Traceback" not in result.stderr


def test_plugin_calling_sys_exit_is_that_plugins_failure(tmp_path: Path) -> None:
    plugin = tmp_path / "quits.py"
    plugin.write_text("import sys\nsys.exit(0)\n")
    for command in (["list"], ["run", "--epochs", "1", "--out", str(tmp_path / "runs")]):
        line = _one_line_error(cli(*command, "--plugin", str(plugin)))
        assert "quits.py" in line and "sys.exit(0)" in line
    assert not (tmp_path / "runs").exists()


def test_plugin_files_with_one_name_get_their_own_modules(tmp_path: Path) -> None:
    from ltml_bench.registry import METHODS, get_method, import_object, load_plugin_file

    paths = []
    for tag in ("a", "b"):
        folder = tmp_path / tag
        folder.mkdir()
        path = folder / "mymethod.py"
        path.write_text(textwrap.dedent(f"""
            from ltml_bench.registry import MethodSpec, register_method

            class Loss:
                tag = {tag!r}

            register_method(MethodSpec(name="same_file_{tag}", title="{tag}", paper="-", summary="-", loss=f"{{__name__}}:Loss"))
        """))
        paths.append(path)
    try:
        for path in paths:
            load_plugin_file(path)
        assert import_object(get_method("same_file_a").loss).tag == "a"
        assert import_object(get_method("same_file_b").loss).tag == "b"
    finally:
        for tag in ("a", "b"):
            if f"same_file_{tag}" in METHODS:
                METHODS.unregister(f"same_file_{tag}")
