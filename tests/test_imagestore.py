"""The decode-once image store and its batched augmentation, against the per-image pipeline.

The reference is `images.ImageListDataset` (PIL decode + numpy photometric distortion + crop +
`F.interpolate` resize, one image at a time), itself tested against the recipe's semantics in
test_datasets_voc_coco.py. Same torch RNG state -> the same images, to float rounding.
"""

from __future__ import annotations

import os
import time
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ltml_bench.data import imagestore
from ltml_bench.data.images import ImageListDataset, apply_photometric, photometric_params
from ltml_bench.data.imagestore import ImageStore, StoredImages, resize_batch
from ltml_bench.errors import DataError

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# (height, width, mode, format): odd sizes, an image too thin to crop (aspect 60), 3 x 4 pixels,
# grey-scale, palette and RGBA files, JPEG and PNG
IMAGES = [(37, 53, "RGB", "PNG"), (120, 90, "RGB", "JPEG"), (5, 300, "RGB", "PNG"), (64, 64, "L", "PNG"),
          (200, 150, "P", "PNG"), (3, 4, "RGBA", "PNG"), (48, 33, "RGB", "JPEG")]


def write_images(folder: Path, seed: int = 0) -> list[Path]:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i, (h, w, mode, fmt) in enumerate(IMAGES):
        rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        img = Image.fromarray(rgb)
        img = img.convert("RGBA") if mode == "RGBA" else img.convert(mode) if mode != "P" else img.quantize(16)
        path = folder / f"{i}.{fmt.lower().replace('jpeg', 'jpg')}"
        img.save(path, format=fmt)
        paths.append(path)
    return paths


@pytest.fixture()
def images(tmp_path: Path) -> list[Path]:
    return write_images(tmp_path / "images")


def labels_for(n: int) -> np.ndarray:
    return (np.arange(n * 3).reshape(n, 3) % 2).astype(np.uint8)


@pytest.mark.parametrize("train", [False, True])
@pytest.mark.parametrize("size", [32, 7])
def test_cached_equals_uncached_for_the_same_seed(images: list[Path], tmp_path: Path, train: bool, size: int) -> None:
    labels = labels_for(len(images))
    reference = ImageListDataset(images, labels, train=train, image_size=size)
    stored = StoredImages(images, labels, train=train, image_size=size, root=tmp_path / "store")
    order = [3, 0, 6, 2, 5, 1, 4, 0]  # repeats and any order
    for seed in range(12):
        torch.manual_seed(seed)
        expected = torch.stack([reference[i][0] for i in order])
        got, targets = stored.get_batch(order, train=True, generator=torch.Generator().manual_seed(seed))
        assert got.shape == (len(order), 3, size, size) and got.dtype == torch.float32
        torch.testing.assert_close(got, expected, atol=2e-5, rtol=0)  # normalised units: ~1e-3 of a grey level
        torch.testing.assert_close(targets, torch.as_tensor(labels[order], dtype=torch.float32))
        # per item through __getitem__ (torch's global generator, like the per-image dataset)
        torch.manual_seed(seed)
        torch.testing.assert_close(stored[order[0]][0], expected[0], atol=2e-5, rtol=0)
    if train:  # the augmentation is random: two seeds differ
        a, _ = stored.get_batch([0], train=True, generator=torch.Generator().manual_seed(0))
        b, _ = stored.get_batch([0], train=True, generator=torch.Generator().manual_seed(1))
        assert not torch.equal(a, b)


def test_eval_view_and_train_flag(images: list[Path], tmp_path: Path) -> None:
    stored = StoredImages(images, labels_for(len(images)), train=True, image_size=16, root=tmp_path / "store")
    view = stored.eval_view()
    a, _ = view.get_batch([1, 2], train=True, generator=torch.Generator().manual_seed(0))  # a test view never augments
    b, _ = stored.get_batch([1, 2], train=False)
    torch.testing.assert_close(a, b, atol=0, rtol=0)
    assert view.prepare() is stored.prepare()  # one opened store, shared


def test_store_holds_the_decoded_pixels(images: list[Path], tmp_path: Path) -> None:
    from PIL import Image

    store = ImageStore.open_or_build(images, root=tmp_path / "store")
    assert len(store) == len(images)
    for i, path in enumerate(images):
        with Image.open(path) as img:
            np.testing.assert_array_equal(store.image(i), np.asarray(img.convert("RGB")))
    assert store.nbytes == sum(h * w * 3 for h, w, _, _ in IMAGES)


def test_resize_matches_interpolate() -> None:
    """Eval resize (no crop, no photometric) against F.interpolate, up- and down-sampling."""
    rng = np.random.default_rng(3)
    shapes = [(17, 29), (300, 5), (1, 1), (224, 224), (9, 400)]
    imgs = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in shapes]
    pixels = torch.from_numpy(np.concatenate([im.reshape(-1, 3) for im in imgs]))
    sizes = np.array([h * w for h, w in shapes])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    heights, widths = np.array([h for h, _ in shapes]), np.array([w for _, w in shapes])
    boxes = np.stack([np.zeros(5, int), heights, np.zeros(5, int), widths], axis=1)
    for size in (1, 13, 224):
        for flip in (False, True):
            out = resize_batch(pixels, offsets, widths, boxes, np.full(5, flip), size)
            for k, im in enumerate(imgs):
                x = torch.from_numpy(im.astype(np.float32)).permute(2, 0, 1)[None]
                ref = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=False)[0]
                # grey levels 0..255; source coordinates up to 400 carry float32 rounding of ~3e-5 px
                torch.testing.assert_close(out[k], ref.flip(-1) if flip else ref, atol=1e-2, rtol=0)


def test_batched_photometric_matches_numpy() -> None:
    """Every draw combination, pixels out of 0..255 and v <= 0 included (brightness pushes below 0)."""
    rng = np.random.default_rng(5)
    img = rng.uniform(-40, 290, size=(6, 7, 3)).astype(np.float32)
    img[0, 0] = 0.0  # v == 0
    img[0, 1] = (10.0, 10.0, 10.0)  # grey: hue undefined
    img[0, 2] = (-5.0, -1.0, -3.0)  # v < 0
    params = [photometric_params(np.random.default_rng(seed)) for seed in range(64)]
    params += [{"mode": 0}, {"mode": 1, "contrast": 1.3}, {"mode": 0, "hue": 17.9}, {"mode": 0, "hue": -18.0, "saturation": 1.5}]
    batch = torch.from_numpy(np.stack([img] * len(params))).permute(0, 3, 1, 2).contiguous()  # planar
    out = imagestore._photometric(batch, imagestore._params_tensors(params, torch.device("cpu"))).permute(0, 2, 3, 1).numpy()
    for k, p in enumerate(params):
        np.testing.assert_allclose(out[k], apply_photometric(img, p), atol=2e-3, rtol=1e-5, err_msg=str(p))


def test_store_is_rebuilt_when_a_source_changes(images: list[Path], tmp_path: Path) -> None:
    from PIL import Image

    root = tmp_path / "store"
    first = ImageStore.open_or_build(images, root=root)
    again = ImageStore.open_or_build(images, root=root)
    assert again.folder == first.folder  # reused, not rebuilt
    new = np.full((IMAGES[0][0], IMAGES[0][1], 3), 7, dtype=np.uint8)
    Image.fromarray(new).save(images[0], format="PNG")
    stat = images[0].stat()
    os.utime(images[0], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a distinct modification time
    changed = ImageStore.open_or_build(images, root=root)
    assert changed.folder != first.folder and not first.folder.exists()  # the stale store is deleted
    np.testing.assert_array_equal(changed.image(0), new)
    assert [p.name for p in root.iterdir() if p.suffix != ".lock"] == [changed.folder.name]  # no temporary folders left


def test_corrupt_store_is_rebuilt_not_trusted(images: list[Path], tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = ImageStore.open_or_build(images, root=root)
    pixels_file = store.folder / imagestore.PIXELS_FILE
    with open(pixels_file, "r+b") as handle:  # a truncated file (a disk-full copy, say)
        handle.truncate(10)
    nbytes = store.nbytes
    del store  # its mapping now points past the end of the file
    from PIL import Image

    with pytest.warns(UserWarning, match="rebuilding it"):
        rebuilt = ImageStore.open_or_build(images, root=root)
    assert rebuilt.nbytes == nbytes and (rebuilt.folder / imagestore.PIXELS_FILE).stat().st_size == nbytes
    with Image.open(images[2]) as img:
        np.testing.assert_array_equal(rebuilt.image(2), np.asarray(img.convert("RGB")))


def test_store_overwritten_with_zeros_is_rebuilt_with_a_warning(images: list[Path], tmp_path: Path) -> None:
    """Same size, other content (zeros written over it): the content digest catches it."""
    from PIL import Image

    root = tmp_path / "store"
    store = ImageStore.open_or_build(images, root=root)
    pixels_file = store.folder / imagestore.PIXELS_FILE
    size = pixels_file.stat().st_size
    del store
    pixels_file.write_bytes(bytes(size))
    with pytest.warns(UserWarning, match="is damaged .*content digest.*rebuilding"):
        rebuilt = ImageStore.open_or_build(images, root=root)
    with Image.open(images[0]) as img:
        np.testing.assert_array_equal(rebuilt.image(0), np.asarray(img.convert("RGB")))
    assert json.loads((rebuilt.folder / imagestore.MANIFEST_FILE).read_text())["crc32"] == imagestore.content_crc32(rebuilt.pixels)


def test_killed_build_leaves_no_temporary_folder(images: list[Path], tmp_path: Path) -> None:
    root = tmp_path / "store"
    folder = imagestore.store_folder([str(p) for p in images], root)
    root.mkdir()
    stale = root / f".{folder.name}.abc123.tmp"  # what a build killed with SIGKILL leaves
    stale.mkdir()
    (stale / imagestore.PIXELS_FILE).write_bytes(b"half")
    ImageStore.open_or_build(images, root=root)
    assert not stale.exists()
    assert not [p for p in root.iterdir() if p.name.endswith(".tmp")]


def test_bad_files_and_full_disk(images: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "store"
    broken = images[1]
    broken.write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    with pytest.raises(DataError, match=f"{broken.name} is unreadable"):
        ImageStore.open_or_build(images, root=root)
    missing = images[:1] + [tmp_path / "gone.png"]
    with pytest.raises(DataError, match="gone.png is listed but missing"):
        ImageStore.open_or_build(missing, root=root)
    assert not root.exists() or not [p for p in root.iterdir() if p.suffix != ".lock"]  # nothing half-built left behind

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:  # the disk fills up during the write: one line, nothing left behind
        patch.setattr(imagestore.np, "memmap", disk_full)
        with pytest.raises(DataError, match="No space left on device.*LTML_BENCH_CACHE"):
            ImageStore.open_or_build(images[2:], root=root)
    assert not [p for p in root.iterdir() if p.suffix != ".lock"]

    usage = type("Usage", (), {"free": 1000, "total": 10**6, "used": 0})
    monkeypatch.setattr(imagestore.shutil, "disk_usage", lambda path: usage)
    with pytest.raises(DataError, match="LTML_BENCH_CACHE"):
        ImageStore.open_or_build(images[2:], root=root)


def test_truncated_jpeg_body_is_named(images: list[Path], tmp_path: Path) -> None:
    """A JPEG whose header is fine but whose data is cut short fails in the decode, named."""
    path = images[1]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    from PIL import ImageFile

    assert not ImageFile.LOAD_TRUNCATED_IMAGES
    with pytest.raises(DataError, match=path.name):
        ImageStore.open_or_build(images, root=tmp_path / "store")


def test_one_epoch_through_the_harness_with_the_store(tmp_path: Path) -> None:
    """A CSV dataset (cached by default) trains and evaluates; the store is built once and reused."""
    from ltml_bench import api

    folder = tmp_path / "images"
    rng = np.random.default_rng(0)
    from PIL import Image

    folder.mkdir()
    rows = ["image,labels"]
    for i in range(24):
        Image.fromarray(rng.integers(0, 256, (20 + i, 30, 3), dtype=np.uint8)).save(folder / f"{i}.png")
        rows.append(f"{i}.png,{'a b' if i % 3 else 'c'}")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    settings = {"images": str(folder), "labels": str(tmp_path / "labels.csv"), "image_size": 16, "neck_dim": 8}
    lines: list[str] = []
    record = api.run("erm", "csv", 0, settings=settings, backbone="ltml_cifar_resnet_small", pretrained=False,
                     epochs=1, out=tmp_path / "runs", log=lines.append)
    assert record["map"]["all"] is not None
    assert any("decoding the" in line and "image store" in line for line in lines)
    lines.clear()
    api.run("erm", "csv", 1, settings=settings, backbone="ltml_cifar_resnet_small", pretrained=False,
            epochs=1, out=tmp_path / "runs", log=lines.append)
    assert not any("decoding the" in line for line in lines)  # reused
    uncached = api.run("erm", "csv", 0, settings={**settings, "image_cache": "false"}, backbone="ltml_cifar_resnet_small",
                       pretrained=False, epochs=1, out=tmp_path / "runs")
    assert uncached["config"]["dataset_options"]["image_cache"] is False and uncached["variant"] != record["variant"]


def test_batch_copy_path_gives_the_same_images(images: list[Path], tmp_path: Path) -> None:
    """When the store stays in host memory and the maths runs on a GPU, only the batch's images
    are copied over (`batch_pixels`): the same images as indexing the whole store."""
    from ltml_bench.data.imagestore import batch_pixels

    stored = StoredImages(images, labels_for(len(images)), train=True, image_size=24, root=tmp_path / "store")
    store = stored.prepare()
    idx = np.array([5, 1, 1, 6])
    sizes = store.heights[idx] * store.widths[idx]
    local, starts = batch_pixels(torch.from_numpy(store.pixels), store.offsets[idx], sizes)
    assert local.shape[0] == sizes.sum()
    boxes = np.stack([np.zeros(4, int), store.heights[idx], np.zeros(4, int), store.widths[idx]], axis=1)
    flips = np.array([True, False, True, False])
    whole = resize_batch(torch.from_numpy(store.pixels), store.offsets[idx], store.widths[idx], boxes, flips, 24)
    torch.testing.assert_close(resize_batch(local, starts, store.widths[idx], boxes, flips, 24), whole, atol=0, rtol=0)


def test_parallel_builders_decode_once(images: list[Path], tmp_path: Path) -> None:
    """Two processes opening a missing store at once: one decodes, the other waits and opens it."""
    import subprocess
    import sys

    code = "\n".join([
        "import sys, time",
        "from pathlib import Path",
        "import ltml_bench.data.imagestore as m",
        "build = m.build_store",
        "def counted(*args, **kwargs):",  # count the builds; a slow build makes the other process wait
        "    with open(sys.argv[1] + '.builds', 'a') as f: f.write('built\\n')",
        "    time.sleep(1.0)",
        "    return build(*args, **kwargs)",
        "m.build_store = counted",
        "print(m.ImageStore.open_or_build(sys.argv[2:], root=Path(sys.argv[1])).folder)",
    ])
    root = tmp_path / "store"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(root), *map(str, images)], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    folders = {p.communicate(timeout=1200)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs) and len(folders) == 1
    assert Path(str(root) + ".builds").read_text().splitlines() == ["built"]  # decoded once
    assert [p.name for p in root.iterdir() if p.suffix != ".lock"] == [Path(folders.pop()).name]
