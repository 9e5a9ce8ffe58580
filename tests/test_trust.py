"""Trust: usage mistakes are one line, nothing read from a run folder executes code, damaged
inputs never become results (issue 12)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import FAST, cli


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


# -- nothing read from a run folder runs code; damaged checkpoints are refused ----------------------

FAST_ARGS = [f"--set={k}={v}" for k, v in FAST.items()]


def _run_dir(out: Path, method: str = "erm", seed: int = 0, epochs: int = 1) -> Path:
    from ltml_bench.api import resolve_config
    from ltml_bench.registry import get_dataset, get_method
    from ltml_bench.runs.records import run_folder

    config = resolve_config(get_method(method), get_dataset("synth_lt"), seed, dict(FAST), epochs=epochs)
    return run_folder(out, "synth_lt", method, seed, config.key())


class _TouchOnUnpickle:
    """Unpickling this calls Path.touch(marker): what a crafted file could do with os.system."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_crafted_checkpoint_runs_nothing_under_resume(tmp_path: Path) -> None:
    import torch

    marker = tmp_path / "pwned"
    run_dir = _run_dir(tmp_path / "runs")
    run_dir.mkdir(parents=True)
    torch.save({"config_key": run_dir.name.split("-", 1)[1], "epoch": 0, "model": _TouchOnUnpickle(marker)}, run_dir / "checkpoint.pt")
    before = _snapshot(tmp_path / "runs")
    line = _one_line_error(cli("run", "--method", "erm", "--epochs", "1", "--resume", "--out", str(tmp_path / "runs"), *FAST_ARGS))
    assert "checkpoint" in line and "--overwrite" in line
    assert not marker.exists()
    assert _snapshot(tmp_path / "runs") == before


def test_crafted_weights_file_runs_nothing(tmp_path: Path) -> None:
    import torch

    marker = tmp_path / "pwned"
    weights = tmp_path / "evil.pth"
    torch.save({"state_dict": _TouchOnUnpickle(marker)}, weights)
    line = _one_line_error(cli("run", "--method", "erm", "--epochs", "1", "--out", str(tmp_path / "runs"), *FAST_ARGS,
                               "--set", f"weights_file={weights}"))
    assert "is not a weights file" in line and "evil.pth" in line
    assert not marker.exists()
    assert not (tmp_path / "runs").exists()


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished one-epoch erm run (its checkpoint stays in the folder)."""
    out = tmp_path_factory.mktemp("finished")
    result = cli("run", "--method", "erm", "--epochs", "1", "--out", str(out), *FAST_ARGS)
    assert result.returncode == 0, result.stderr
    return out


def _copy_run(finished: Path, tmp_path: Path) -> tuple[Path, Path]:
    import shutil

    out = tmp_path / "runs"
    shutil.copytree(finished, out)
    run_dir = _run_dir(out)
    (run_dir / "result.json").unlink()  # as if interrupted after its last checkpoint
    return out, run_dir


def test_checkpoint_with_flipped_bytes_is_refused(finished: Path, tmp_path: Path) -> None:
    import zipfile

    out, run_dir = _copy_run(finished, tmp_path)
    path = run_dir / "checkpoint.pt"
    with zipfile.ZipFile(path) as archive:  # flip bytes inside the largest tensor's data
        member = max(archive.infolist(), key=lambda info: info.file_size)
        offset = member.header_offset + 30 + len(member.filename.encode()) + len(member.extra) + member.file_size // 2
    data = bytearray(path.read_bytes())
    for i in range(offset, offset + 16):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    before = _snapshot(out)
    line = _one_line_error(cli("run", "--method", "erm", "--epochs", "1", "--resume", "--out", str(out), *FAST_ARGS))
    assert "is damaged" in line and "CRC" in line and "--overwrite" in line
    assert _snapshot(out) == before  # no result.json was made from it


def test_checkpoint_missing_keys_is_one_line(finished: Path, tmp_path: Path) -> None:
    import torch

    out, run_dir = _copy_run(finished, tmp_path)
    state = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    del state["optimizer"]
    torch.save(state, run_dir / "checkpoint.pt")
    line = _one_line_error(cli("run", "--method", "erm", "--epochs", "1", "--resume", "--out", str(out), *FAST_ARGS))
    assert "lacks optimizer" in line
    assert not (run_dir / "result.json").exists()


def test_nothing_loads_with_pickle_enabled() -> None:
    """Every torch.load of the package passes weights_only=True; no numpy load enables pickle."""
    import re

    from conftest import REPO

    for path in sorted((REPO / "ltml_bench").rglob("*.py")) + sorted((REPO / "datasets").rglob("*.py")) + sorted((REPO / "methods").rglob("*.py")):
        text = path.read_text()
        for call in re.findall(r"torch\.load\([^)]*\)", text):
            assert "weights_only=True" in call, (path, call)
        assert "allow_pickle=True" not in text, path
        assert not re.search(r"\bpickle\.loads?\(", text), path
