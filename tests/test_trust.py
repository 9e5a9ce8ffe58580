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
    assert "could not be loaded into" in line and "evil.pth" in line
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


# -- one record validator ---------------------------------------------------------------------------

def _good_record() -> dict:
    return {"method": "erm", "dataset": "synth_lt", "seed": 0, "variant": "default", "config_key": "k",
            "map": {"head": 50.0, "middle": 40.0, "tail": None, "all": 45.0},
            "groups": {"head": ["a"], "middle": ["b"], "tail": []}, "class_names": ["a", "b"], "per_class_ap": [50.0, 40.0]}


JUNK_RECORDS = {
    "empty object": b"{}",
    "list": b"[]",
    "binary": bytes(range(256)),
    "not utf-8": '{"method": "\xe9"}'.encode("latin-1"),
    "nan map": b'{"method": "erm", "dataset": "synth_lt", "seed": 0, "map": {"head": NaN, "middle": 1, "tail": 1, "all": 1}}',
    "string seed": b'{"method": "erm", "dataset": "synth_lt", "seed": "0", "map": {"head": 1, "middle": 1, "tail": 1, "all": 1}}',
    "map over 100": b'{"method": "erm", "dataset": "synth_lt", "seed": 0, "map": {"head": 900, "middle": 1, "tail": 1, "all": 1}}',
    "map of strings": b'{"method": "erm", "dataset": "synth_lt", "seed": 0, "map": {"head": "1", "middle": 1, "tail": 1, "all": 1}}',
    "short per-class ap": b'{"method": "erm", "dataset": "synth_lt", "seed": 0, "map": {"head": 1, "middle": 1, "tail": 1, "all": 1}, "class_names": ["a", "b"], "per_class_ap": [1]}',
    "deep nesting": b"[" * 100000 + b"]" * 100000,
}


@pytest.mark.parametrize("case", sorted(JUNK_RECORDS))
def test_run_never_reuses_what_table_skips(case: str, tmp_path: Path) -> None:
    from ltml_bench.api import _read_record
    from ltml_bench.runs.records import scan_runs

    folder = tmp_path / "synth_lt" / "erm" / "seed0-k"
    folder.mkdir(parents=True)
    (folder / "result.json").write_bytes(JUNK_RECORDS[case])
    loaded, skipped = scan_runs(tmp_path)
    assert not loaded and [s.path for s in skipped] == [folder]
    assert _read_record(folder / "result.json") is None


def test_validator_accepts_records_with_more_keys(tmp_path: Path) -> None:
    import json

    from ltml_bench.api import _read_record
    from ltml_bench.runs.records import scan_runs

    record = {**_good_record(), "intervals": {"all": [40.0, 50.0]}, "something_later": [1, 2]}
    folder = tmp_path / "synth_lt" / "erm" / "seed0-k"
    folder.mkdir(parents=True)
    (folder / "result.json").write_text(json.dumps(record))
    assert [item.record for item in scan_runs(tmp_path)[0]] == [record]
    assert _read_record(folder / "result.json") == record


def test_run_trains_again_over_an_empty_record(finished: Path, tmp_path: Path) -> None:
    import json

    out, run_dir = _copy_run(finished, tmp_path)
    (run_dir / "result.json").write_text("{}")
    result = cli("run", "--method", "erm", "--epochs", "1", "--json", "--out", str(out), *FAST_ARGS)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["reused"] is False and all(isinstance(payload["map"][g], float) for g in ("head", "all"))
    assert json.loads((run_dir / "result.json").read_text())["map"] == payload["map"]


# -- caches ---------------------------------------------------------------------------------------

def _flip_in_npz(path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(path) as archive:
        member = max(archive.infolist(), key=lambda info: info.compress_size)
        offset = member.header_offset + 30 + len(member.filename.encode()) + len(member.extra) + member.compress_size // 2
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x5A
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("compressed", [True, False])
def test_cached_arrays_with_flipped_bytes_are_rebuilt_with_a_warning(compressed: bool, tmp_path: Path) -> None:
    import io

    import numpy as np

    from ltml_bench.storage.cache import cached_arrays
    from ltml_bench.storage.files import atomic_write_bytes

    path = tmp_path / "cache.npz"
    good = {"x": np.arange(4096, dtype=np.float32)}
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **good)
    atomic_write_bytes(path, buffer.getvalue())
    _flip_in_npz(path)
    made = []
    with pytest.warns(UserWarning, match="is damaged.*rebuilding"):
        arrays = cached_arrays(path, lambda: made.append(1) or good)
    assert made == [1]
    np.testing.assert_array_equal(arrays["x"], good["x"])


def test_feature_cache_with_flipped_bytes_is_extracted_again(tmp_path: Path) -> None:
    import numpy as np

    from ltml_bench.training import probe

    path = tmp_path / "features.npz"
    np.savez(path, features=np.ones((64, 32), np.float32), ids=np.arange(64).astype(str))
    assert probe._load(path, 64) is not None
    _flip_in_npz(path)
    with pytest.warns(UserWarning, match="feature cache .* is damaged"):
        assert probe._load(path, 64) is None
    assert not path.exists()


# -- no silent wrong training -----------------------------------------------------------------------

OUT_OF_RANGE = {
    "negative num_workers": ({"num_workers": "-1"}, "num_workers=-1: must be >= 0"),
    "negative neck_dim": ({"neck_dim": "-4"}, "neck_dim=-4: must be >= 0"),
    "negative weight_decay": ({"weight_decay": "-0.1"}, "weight_decay=-0.1: must be >= 0"),
    "nan lr": ({"lr": "nan"}, "NaN and inf are not allowed"),
    "inf weight_decay": ({"weight_decay": "inf"}, "NaN and inf are not allowed"),
    "nan loss parameter": ({"gamma": "NaN"}, "NaN and inf are not allowed"),
    "lr_steps that do not parse": ({"lr_steps": "a,b"}, "lr_steps=a,b: must be epoch numbers"),
    "image_size on synth_lt": ({"image_size": "64"}, "dataset 'synth_lt' ignores it"),
}


@pytest.mark.parametrize("case", sorted(OUT_OF_RANGE))
def test_settings_out_of_range_or_ignored_are_refused(case: str) -> None:
    from ltml_bench.api import resolve_config
    from ltml_bench.errors import ConfigError
    from ltml_bench.registry import get_dataset, get_method

    settings, expected = OUT_OF_RANGE[case]
    method = "focal" if "gamma" in settings else "erm"
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        resolve_config(get_method(method), get_dataset("synth_lt"), 0, settings)


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, True])
def test_seed_outside_numpy_range_is_refused(seed) -> None:
    from ltml_bench.api import resolve_config
    from ltml_bench.errors import ConfigError
    from ltml_bench.registry import get_dataset, get_method

    with pytest.raises(ConfigError, match="must be an integer from 0 to 4294967295"):
        resolve_config(get_method("erm"), get_dataset("synth_lt"), seed)
    assert resolve_config(get_method("erm"), get_dataset("synth_lt"), 2**32 - 1).seed == 2**32 - 1


def test_hmt_tau_h_not_above_tau_m_is_one_line(tmp_path: Path) -> None:
    line = _one_line_error(cli("run", "--method", "hmt", "--epochs", "1", "--out", str(tmp_path / "runs"), *FAST_ARGS,
                               "--set", "tau_h=20", "--set", "tau_m=20"))
    assert "tau_h=20 must be above tau_m=20" in line
    assert not (tmp_path / "runs").exists()


def test_cli_seed_out_of_range_is_one_line(tmp_path: Path) -> None:
    line = _one_line_error(cli("run", "--seed", "-3", "--epochs", "1", "--out", str(tmp_path / "runs")))
    assert "--seed -3: must be an integer from 0 to 4294967295" in line
    assert not (tmp_path / "runs").exists()


def test_epoch_without_batches_is_refused_before_training(tmp_path: Path) -> None:
    line = _one_line_error(cli("run", "--method", "rs", "--epochs", "1", "--out", str(tmp_path / "runs"), *FAST_ARGS,
                               "--set", "epoch_reduce=1000000000"))
    assert "no batch" in line and "epoch_reduce" in line
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("returned", ["per_element", "float"])
def test_plugin_loss_returning_no_scalar_is_caught_on_the_first_batch(returned: str, tmp_path: Path) -> None:
    plugin = tmp_path / "badloss.py"
    value = "F.binary_cross_entropy_with_logits(logits, targets, reduction='none')" if returned == "per_element" else "1.0"
    plugin.write_text(textwrap.dedent(f"""
        import torch.nn.functional as F
        from torch import nn
        from ltml_bench.registry import MethodSpec, register_method

        class Loss(nn.Module):
            def __init__(self, class_counts, num_samples):
                super().__init__()

            def forward(self, logits, targets):
                return {value}

        register_method(MethodSpec(name="bad_loss", title="Bad", paper="-", summary="-", loss=f"{{__name__}}:Loss"))
    """))
    line = _one_line_error(cli("run", "--method", "bad_loss", "--epochs", "1", "--out", str(tmp_path / "runs"), *FAST_ARGS,
                               "--plugin", str(plugin)))
    assert "method 'bad_loss': its loss returned" in line
    assert not (tmp_path / "runs").exists()


# -- full or read-only disks, bad files ---------------------------------------------------------------

def _failing_fdopen(code: int):
    import errno as errno_module
    import os

    def fdopen(fd, *args, **kwargs):
        os.close(fd)
        raise OSError(code, os.strerror(code) if code else errno_module.errorcode.get(code, ""))

    return fdopen


@pytest.mark.parametrize("code,expected", [(28, "no space left on {folder}; free space or give another --out"),
                                           (30, "{folder} is on a read-only file system; give another --out")])
def test_full_or_read_only_disk_is_one_line_and_keeps_the_old_file(code: int, expected: str, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from ltml_bench.errors import StorageError
    from ltml_bench.storage import files

    target = tmp_path / "result.json"
    target.write_text("old")
    monkeypatch.setattr(files.os, "fdopen", _failing_fdopen(code))
    with pytest.raises(StorageError) as info:
        files.write_json(target, {"new": 1})
    assert str(info.value) == expected.format(folder=tmp_path)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_full_cache_names_ltml_bench_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from ltml_bench.errors import StorageError
    from ltml_bench.storage import cache, files

    monkeypatch.setattr(files.os, "fdopen", _failing_fdopen(28))
    with pytest.raises(StorageError, match=f"no space left on {tmp_path}; free space or set LTML_BENCH_CACHE"):
        cache.cached_arrays(tmp_path / "a.npz", lambda: {"x": np.zeros(3)})


def test_disk_full_mid_training_keeps_the_finished_epochs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_torch_thread) -> None:
    import torch

    from ltml_bench import api
    from ltml_bench.errors import StorageError
    from ltml_bench.storage import files

    real = files.atomic_write_bytes
    saves = []

    def second_checkpoint_fails(path, data, hint=files.OUT_HINT):
        if path.name == "checkpoint.pt":
            saves.append(path)
            if len(saves) == 2:
                _raise_full(path)
        return real(path, data, hint)

    def _raise_full(path):
        raise files.storage_error(OSError(28, "No space left on device"), path.parent)

    monkeypatch.setattr("ltml_bench.training.checkpoint.atomic_write_bytes", second_checkpoint_fails)
    with pytest.raises(StorageError, match="no space left on"):
        api.run("erm", "synth_lt", 0, settings=dict(FAST), epochs=2, out=tmp_path / "runs", device="cpu")
    run_dir = _run_dir(tmp_path / "runs", epochs=2)
    assert torch.load(run_dir / "checkpoint.pt", weights_only=True)["epoch"] == 1
    assert len((run_dir / "log.txt").read_text().splitlines()) == 1
    assert not (run_dir / "result.json").exists()


def test_weights_file_that_is_not_one_or_too_long(tmp_path: Path) -> None:
    from ltml_bench.errors import UserError
    from ltml_bench.training.model import create_backbone

    text = tmp_path / "notes.pth"
    text.write_text("these are not weights")
    with pytest.raises(UserError, match="could not be loaded into 'resnet18'"):
        create_backbone("resnet18", True, str(text))
    with pytest.raises(UserError, match="cannot be opened .*characters.*shorter path"):
        create_backbone("resnet18", True, "/tmp/" + "w" * 5000 + ".pth")


def test_decompression_bomb_image_is_named_with_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    from ltml_bench.data import imagestore
    from ltml_bench.data.images import decode_rgb
    from ltml_bench.errors import DataError

    path = tmp_path / "big.png"
    Image.new("RGB", (64, 64)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 64 x 64 is over twice the limit
    for read in (decode_rgb, imagestore._image_size):
        with pytest.raises(DataError, match="big.png is refused as a possible decompression bomb.*limit is 100 pixels"):
            read(str(path))


def test_log_that_is_not_utf8_is_kept(tmp_path: Path) -> None:
    from ltml_bench.training.checkpoint import EpochLog

    (tmp_path / "log.txt").write_bytes(b"epoch 1 \xff\xfe\n epoch 2\n")
    log = EpochLog(tmp_path)
    log.keep_epochs(1)
    assert (tmp_path / "log.txt").read_bytes() == b"epoch 1 \xff\xfe\n"
    log.append("epoch 2 again")
    assert (tmp_path / "log.txt").read_bytes().endswith(b"epoch 2 again\n")


def test_lock_that_is_a_folder_is_one_line(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    run_dir = _run_dir(out)
    (run_dir / ".lock").mkdir(parents=True)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    line = _one_line_error(cli("run", "--method", "erm", "--epochs", "1", "--out", str(out), *FAST_ARGS))
    assert "lock file" in line and ".lock" in line and "rm -r" in line
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before


# -- hygiene ------------------------------------------------------------------------------------------

def test_files_get_the_users_umask(tmp_path: Path) -> None:
    import os
    import stat

    from ltml_bench.storage import files

    current = os.umask(0o022)
    os.umask(current)
    files.atomic_write_bytes(tmp_path / "a.json", b"{}")
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o666 & ~current


def test_leaderboard_commands_quote_their_paths() -> None:
    import shlex

    from ltml_bench.reporting import tables

    records = [{**_good_record(), "config": {"overrides": {"lam": 2.0}}, "method": "hmt"}, _good_record()]
    frame = tables.aggregate(records, dataset="synth_lt")
    runs = "my runs/$(touch pwned)"
    text = tables.leaderboard_markdown(frame, "synth_lt", runs, records)
    commands = [line for line in text.splitlines() if line.startswith("ltml-bench ")]
    assert commands
    for line in commands:
        words = shlex.split(line)
        assert words[words.index("--runs" if "--runs" in words else "--out") + 1] == runs


def test_sweep_waits_for_a_run_locked_by_another_and_reuses_it(tmp_path: Path) -> None:
    import json
    import threading
    import time

    from ltml_bench import api
    from ltml_bench.storage.locks import FileLock

    run_dir = _run_dir(tmp_path / "runs")
    run_dir.mkdir(parents=True)
    other = FileLock(run_dir / ".lock")
    assert other.acquire(wait=False)  # another sweep trains this run right now
    with pytest.raises(api.UserError, match="being trained by another process"):
        api.run("erm", "synth_lt", 0, settings=dict(FAST), epochs=1, out=tmp_path / "runs")

    def finish() -> None:
        time.sleep(0.5)
        (run_dir / "result.json").write_text(json.dumps({**_good_record(), "config_key": run_dir.name.split("-", 1)[1]}))
        other.release()

    thread = threading.Thread(target=finish)
    thread.start()
    record = api.run("erm", "synth_lt", 0, settings=dict(FAST), epochs=1, out=tmp_path / "runs", wait=True)
    thread.join()
    assert record["reused"] is True and record["map"] == _good_record()["map"]


def test_overwrite_keeps_the_old_result_until_the_new_one_replaces_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from ltml_bench import api

    run_dir = _run_dir(tmp_path / "runs")
    run_dir.mkdir(parents=True)
    old = json.dumps(_good_record())
    (run_dir / "result.json").write_text(old)
    seen = []

    def train(*args, **kwargs):
        seen.append((run_dir / "result.json").read_text())
        return {"trained": True}

    monkeypatch.setattr(api, "_train", train)
    assert api.run("erm", "synth_lt", 0, settings=dict(FAST), epochs=1, out=tmp_path / "runs", overwrite=True) == {"trained": True}
    assert seen == [old]
