"""The input pipelines against torchvision loaders (`pipeline_vs_torchvision`)."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import numpy as np

from ltml_bench.bench.timing import best_of, sync


def random_images(n: int, size: int, seed: int) -> np.ndarray:
    """Smooth random uint8 images [n, 3, size, size] (smooth so PNG decoding is realistic)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(n, 3, max(2, size // 8), max(2, size // 8)), dtype=np.uint8)
    img = np.repeat(np.repeat(small, 8, axis=2), 8, axis=3)[:, :, :size, :size]
    noise = rng.integers(0, 16, size=img.shape, dtype=np.uint8)
    return np.ascontiguousarray(img // 2 + noise)


def bench_pipeline(num_images: int, size: int, batch_size: int, repeats: int = 2, fmt: str = "PNG") -> dict[str, Any]:
    """`TensorImages` (synth_lt's in-memory store) against a torchvision loader of PNG bytes."""
    import torch
    from PIL import Image
    from torchvision import transforms

    from ltml_bench.data.interface import TensorImages

    images = random_images(num_images, size, seed=1)
    labels = np.zeros((num_images, 4), dtype=np.uint8)
    pad = max(2, size // 16)
    mean, std = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)
    store = TensorImages(images, labels, mean=mean, std=std, pad=pad)
    encoded = []
    for img in images:
        buffer = io.BytesIO()
        Image.fromarray(img.transpose(1, 2, 0)).save(buffer, format=fmt)
        encoded.append(buffer.getvalue())
    tf = transforms.Compose([
        transforms.RandomHorizontalFlip(),
        transforms.RandomCrop(size, padding=pad, padding_mode="edge"),
        transforms.ToTensor(),
        transforms.Normalize(mean, std),
    ])
    index_batches = [np.arange(i, min(i + batch_size, num_images)) for i in range(0, num_images, batch_size)]

    def ours() -> None:
        g = torch.Generator().manual_seed(0)
        for idx in index_batches:
            store.get_batch(idx, train=True, generator=g)

    def torchvision_loader() -> None:
        for idx in index_batches:
            torch.stack([tf(Image.open(io.BytesIO(encoded[int(i)])).convert("RGB")) for i in idx])

    t_ours = best_of(ours, repeats)
    t_tv = best_of(torchvision_loader, repeats)
    return {
        "image_size": size,
        "images": num_images,
        "ours_images_per_s": round(num_images / t_ours, 1),
        "torchvision_images_per_s": round(num_images / t_tv, 1),
        "vs_torchvision": round(t_tv / t_ours, 2),
    }


VOC_LIKE = (375, 500)  # height, width of a typical VOC / COCO photo


def write_jpegs(folder: Path, n: int, seed: int = 0, shape: tuple[int, int] = VOC_LIKE) -> list[Path]:
    """`n` smooth random photos-sized JPEGs (quality 90) in `folder`."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    h, w = shape
    paths = []
    for i in range(n):
        small = rng.integers(0, 256, (h // 8 + 1, w // 8 + 1, 3), dtype=np.uint8)
        img = np.repeat(np.repeat(small, 8, axis=0), 8, axis=1)[:h, :w]
        path = folder / f"{i:05d}.jpg"
        Image.fromarray(img).save(path, quality=90)
        paths.append(path)
    return paths


def _torchvision_recipe(size: int) -> Any:
    """The recipe's kinds of augmentation in torchvision's terms (crop of 64-100% area, aspect 0.5-2)."""
    from torchvision import transforms

    from ltml_bench.data.images import BRIGHTNESS_DELTA, HUE_DELTA
    from ltml_bench.data.interface import IMAGENET_MEAN, IMAGENET_STD

    return transforms.Compose([
        transforms.RandomResizedCrop(size, scale=(0.64, 1.0), ratio=(0.5, 2.0)),
        transforms.ColorJitter(brightness=BRIGHTNESS_DELTA / 255, contrast=0.5, saturation=0.5, hue=HUE_DELTA / 360),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])


def bench_image_pipeline(num_images: int, batch_size: int, size: int = 224, repeats: int = 2, device: Any = None) -> dict[str, Any]:
    """The recipe's pipeline on photo-sized JPEGs: the decode-once `StoredImages` (batched, on
    `device`) against a plain torchvision decode-and-augment loader and against our own
    per-image pipeline (`ImageListDataset`: PIL decode + numpy augmentation per item)."""
    import tempfile

    import torch
    from PIL import Image

    from ltml_bench.data.images import ImageListDataset
    from ltml_bench.data.imagestore import StoredImages

    device = device or torch.device("cpu")
    with tempfile.TemporaryDirectory(prefix="ltml-bench-jpegs-") as tmp:
        paths = write_jpegs(Path(tmp) / "jpg", num_images)
        labels = np.zeros((num_images, 4), dtype=np.uint8)
        stored = StoredImages(paths, labels, train=True, image_size=size, root=Path(tmp) / "store")
        t0 = time.perf_counter()
        stored.prepare()
        build_s = time.perf_counter() - t0
        stored.to(device)
        per_image = ImageListDataset(paths, labels, train=True, image_size=size)
        tf = _torchvision_recipe(size)
        index_batches = [np.arange(i, min(i + batch_size, num_images)) for i in range(0, num_images, batch_size)]

        def ours() -> None:
            g = torch.Generator().manual_seed(0)
            for idx in index_batches:
                stored.get_batch(idx, train=True, generator=g)
            sync(device)

        def uncached() -> None:
            for idx in index_batches:
                torch.stack([per_image[int(i)][0] for i in idx])

        def torchvision_loader() -> None:
            for idx in index_batches:
                torch.stack([tf(Image.open(paths[int(i)]).convert("RGB")) for i in idx])

        ours()  # warm-up (CUDA kernels, page cache)
        t_ours = best_of(ours, repeats)
        t_tv = best_of(torchvision_loader, repeats)
        t_un = best_of(uncached, repeats)
    return {
        "pipeline_source": f"{num_images} JPEGs {VOC_LIKE[1]}x{VOC_LIKE[0]}, recipe augmentation to {size} px, batch {batch_size}",
        "pipeline_device": str(device),
        "pipeline_store_build_s": round(build_s, 2),
        "pipeline_ours_images_per_s": round(num_images / t_ours, 1),
        "pipeline_torchvision_images_per_s": round(num_images / t_tv, 1),
        "pipeline_uncached_images_per_s": round(num_images / t_un, 1),
        "pipeline_vs_torchvision": round(t_tv / t_ours, 2),
        "pipeline_vs_uncached": round(t_un / t_ours, 2),
    }
