"""Own data offline: the README's `csv` command runs as printed (no network, a CPU-sized backbone),
and a recipe that cannot train as expected (warm-up longer than the training, tiny epochs, a
random backbone kept frozen) warns in one line naming the fix."""

from __future__ import annotations

import re
import shlex
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, cli

from ltml_bench.config import TrainConfig
from ltml_bench.training.schedule import MIN_EPOCH_BATCHES, RecipeWarning, recipe_warnings, warn_about_recipe


def readme_csv_command() -> list[str]:
    """The README's own-data command, as a list of arguments (after `ltml-bench`)."""
    text = (REPO / "README.md").read_text()
    block = re.search(r"```bash\n(ltml-bench run --dataset csv --set images=photos .*?)```", text, flags=re.S)
    assert block is not None, "README.md lost its own-data command"
    words = shlex.split(block.group(1).replace("\\\n", " "))
    assert words[0] == "ltml-bench"
    return words[1:]


def _photos(folder: Path, n: int) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    folder.mkdir()
    rows = ["image,labels"]
    for i in range(n):
        image = rng.integers(0, 80, (48 + i % 17, 64, 3), dtype=np.uint8)
        labels = []
        if i % 2:
            image[:, :, 0] = 230
            labels.append("red")
        if i % 5 == 0:
            image[:20] = 255
            labels.append("top")
        Image.fromarray(image).save(folder / f"img{i:03d}.png")
        rows.append(f"img{i:03d}.png,{' '.join(labels)}")
    (folder / "labels.csv").write_text("\n".join(rows) + "\n")


@pytest.mark.slow
def test_readme_csv_command_runs_offline_without_warnings(tmp_path: Path) -> None:
    """200 images as the README describes; 2 epochs instead of 10 (20 iterations = the warm-up).
    Slow (a ResNet-18 at 64 px, about half a minute): `.ci/run` runs it with `-m slow`."""
    _photos(tmp_path / "photos", 200)
    args = readme_csv_command()
    assert "--no-pretrained" in args and "resnet18" in args
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "ltml_bench", *args, "--epochs", "2", "--method", "erm", "--json",
                           "--out", str(tmp_path / "runs")], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "warning:" not in proc.stderr, proc.stderr
    assert '"dataset": "csv"' in proc.stdout


def test_a_tiny_run_with_the_default_recipe_warns_with_the_fixes(tmp_path: Path) -> None:
    _photos(tmp_path / "photos", 40)
    proc = cli("run", "--dataset", "csv", "--method", "erm", "--set", f"images={tmp_path / 'photos'}",
               "--set", f"labels={tmp_path / 'photos' / 'labels.csv'}", "--backbone", "ltml_cifar_resnet_small",
               "--no-pretrained", "--set", "image_size=16", "--epochs", "1", "--out", str(tmp_path / "runs"))
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert any("warm-up (500 iterations) is longer than the whole training (1 iterations" in line
               and "--set warmup_iters=1" in line for line in lines), lines
    assert any("an epoch has only 1 batch(es) of 32 (32 training images)" in line and "--set batch_size=3" in line for line in lines), lines
    # --no-pretrained drops the recipe's freezing (api._settle_weights), so no frozen random stem to warn about
    assert not any("trains from scratch but the recipe freezes" in line for line in lines), lines


@pytest.mark.parametrize("fields, steps, images, expected", [
    ({"warmup_iters": 500, "epochs": 2}, 5, 160, ["warm-up (500 iterations) is longer than the whole training (10 iterations: 2 epoch(s) x 5 batches)", "an epoch has only 5 batch(es)"]),
    ({"warmup_iters": 10, "epochs": 2}, 5, 160, ["an epoch has only 5 batch(es)"]),
    ({"warmup_iters": 100, "epochs": 10}, 10, 320, []),  # warm-up == training is fine, 10 batches is fine
    ({"warmup_iters": 0, "epochs": 1}, 3, 6, []),  # too few images to fix with a smaller batch: no advice
    ({"warmup_iters": 0, "epochs": 1, "pretrained": False, "frozen_bn": True}, 20, 640, ["trains from scratch"]),
    ({"warmup_iters": 0, "epochs": 1, "pretrained": False, "frozen_bn": True, "protocol": "probe"}, 20, 640, []),
    ({"warmup_iters": 0, "epochs": 1, "pretrained": True, "frozen_bn": True}, 20, 640, []),
])
def test_recipe_warnings(fields: dict, steps: int, images: int, expected: list[str]) -> None:
    found = recipe_warnings(TrainConfig(**fields), steps, images)
    assert len(found) == len(expected), found
    for line, text in zip(found, expected):
        assert text in line and "\n" not in line


def test_recipe_warnings_speak_python_outside_the_cli() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_about_recipe(TrainConfig(warmup_iters=500, epochs=1, batch_size=32), 4, 128)
    messages = [str(w.message) for w in caught if issubclass(w.category, RecipeWarning)]
    assert any("settings['warmup_iters']=1" in m for m in messages), messages
    assert any(f"fewer than {MIN_EPOCH_BATCHES}" in m and "settings['batch_size']=12" in m for m in messages), messages
