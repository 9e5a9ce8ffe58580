"""`ltml-bench bench`: the project's speed, measured against plain baselines in one process.

Every ratio compares two implementations run side by side, in the same process, on the same
device, model, batch and data, so machine load affects both sides alike (each side is timed as the
best of a few repeats where it is cheap enough):

- `harness_vs_plain_loop`: training images/s of the real harness (`train_and_evaluate`, timed
  between two of its own progress callbacks, after warm-up steps, so model building, evaluation
  and the end-of-epoch checkpoint are left out; median of 2 runs interleaved with the plain
  loop's 2, 3 each without `--quick`) over a minimal PyTorch loop (forward, BCE,
  backward, gradient clipping as the recipe does, SGD step) on the same model and the same
  `TensorImages` batches. About 1.0 means the harness adds nothing measurable per step (its
  per-step extras: learning-rate schedule, finiteness check of the loss, progress callback).
- `pipeline_vs_torchvision`: images/s of `TensorImages.get_batch` (in-memory uint8, batched
  flip + pad-and-crop + normalise) over a plain torchvision loader on the same images held as PNG
  bytes in memory (PIL decode, RandomHorizontalFlip, RandomCrop with padding, ToTensor,
  Normalize, stack), both single process.
- `ap_speedup_vs_sklearn`: `ltml_bench.metrics.average_precision` on 5,000 x 80 float32 scores
  with ties over scikit-learn's `average_precision_score` column by column; `ap_max_abs_diff` is
  the largest difference of the two (ties make it a real test).
- `peak_memory_mb`: CUDA max allocated on a GPU, else the process's max RSS.

On CUDA (without `--quick`) it also times ResNet-50 at 224 px with the recipe's frozen stem and
layer1 (BatchNorm frozen), at batch 32 and at the largest batch that fits (doubling from 32 until
out of memory, capped at 1,024), through the plain loop and the harness.
"""

from __future__ import annotations

import io
import os
import platform
import resource
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np

AP_SHAPE = (5000, 80)


def _best(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


# -- (c) average precision ----------------------------------------------------------------------
def bench_ap(repeats: int = 3, seed: int = 0, device: Any = None) -> dict[str, Any]:
    """Our AP against scikit-learn on 5,000 x 80 scores rounded to 2 decimals (many ties)."""
    import torch
    from sklearn.metrics import average_precision_score

    from ltml_bench.metrics import average_precision

    rng = np.random.default_rng(seed)
    n, c = AP_SHAPE
    scores = np.round(rng.normal(size=(n, c)), 2).astype(np.float32)
    prevalence = np.geomspace(0.3, 0.002, c)  # long-tailed: common to rare classes
    targets = (rng.random((n, c)) < prevalence).astype(np.int64)
    targets[0] = 1  # every class has a positive
    scores_t, targets_t = torch.from_numpy(scores), torch.from_numpy(targets)

    def sklearn_ap() -> np.ndarray:
        return np.array([average_precision_score(targets[:, k], scores[:, k]) for k in range(c)])

    ref = sklearn_ap()
    ours = average_precision(scores_t, targets_t).cpu().numpy()
    t_sk = _best(sklearn_ap, repeats)
    t_ours = _best(lambda: average_precision(scores_t, targets_t), max(3, repeats * 2))
    result = {
        "ap_shape": [n, c],
        "ap_sklearn_ms": round(t_sk * 1e3, 2),
        "ap_ours_ms": round(t_ours * 1e3, 2),
        "ap_speedup_vs_sklearn": round(t_sk / t_ours, 2),
        "ap_max_abs_diff": float(np.max(np.abs(ours - ref))),
    }
    if device is not None and device.type == "cuda":  # the torch path, on the GPU
        s_gpu, y_gpu = scores_t.to(device), targets_t.to(device)

        def on_gpu() -> None:
            average_precision(s_gpu, y_gpu)
            _sync(device)

        on_gpu()
        result["ap_cuda_ms"] = round(_best(on_gpu, max(3, repeats * 2)) * 1e3, 2)
        result["ap_cuda_max_abs_diff"] = float(np.max(np.abs(average_precision(s_gpu, y_gpu).cpu().numpy() - ref)))
    return result


# -- (b) input pipeline -------------------------------------------------------------------------
def _random_images(n: int, size: int, seed: int) -> np.ndarray:
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

    from ltml_bench.data import TensorImages

    images = _random_images(num_images, size, seed=1)
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

    t_ours = _best(ours, repeats)
    t_tv = _best(torchvision_loader, repeats)
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


def bench_image_pipeline(num_images: int, batch_size: int, size: int = 224, repeats: int = 2, device: Any = None) -> dict[str, Any]:
    """The recipe's pipeline on photo-sized JPEGs: the decode-once `StoredImages` (batched, on
    `device`) against a plain torchvision decode-and-augment loader and against our own
    per-image pipeline (`ImageListDataset`: PIL decode + numpy augmentation per item)."""
    import tempfile

    import torch
    from PIL import Image
    from torchvision import transforms

    from ltml_bench.data import IMAGENET_MEAN, IMAGENET_STD
    from ltml_bench.images import BRIGHTNESS_DELTA, HUE_DELTA, ImageListDataset
    from ltml_bench.imagestore import StoredImages

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
        # the same kinds of augmentation in torchvision's terms (crop of 64-100% area, aspect 0.5-2)
        tf = transforms.Compose([
            transforms.RandomResizedCrop(size, scale=(0.64, 1.0), ratio=(0.5, 2.0)),
            transforms.ColorJitter(brightness=BRIGHTNESS_DELTA / 255, contrast=0.5, saturation=0.5, hue=HUE_DELTA / 360),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ])
        index_batches = [np.arange(i, min(i + batch_size, num_images)) for i in range(0, num_images, batch_size)]

        def ours() -> None:
            g = torch.Generator().manual_seed(0)
            for idx in index_batches:
                stored.get_batch(idx, train=True, generator=g)
            _sync(device)

        def uncached() -> None:
            for idx in index_batches:
                torch.stack([per_image[int(i)][0] for i in idx])

        def torchvision_loader() -> None:
            for idx in index_batches:
                torch.stack([tf(Image.open(paths[int(i)]).convert("RGB")) for i in idx])

        ours()  # warm-up (CUDA kernels, page cache)
        t_ours = _best(ours, repeats)
        t_tv = _best(torchvision_loader, repeats)
        t_un = _best(uncached, repeats)
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


# -- (a) training step --------------------------------------------------------------------------
def _bundle(num_train: int, num_test: int, size: int, num_classes: int, seed: int = 2) -> Any:
    from ltml_bench.data import DatasetBundle, Split, TensorImages

    rng = np.random.default_rng(seed)
    prevalence = np.geomspace(0.5, 0.02, num_classes)

    def split(n: int, offset: int) -> Any:
        labels = (rng.random((n, num_classes)) < prevalence).astype(np.uint8)
        labels[np.arange(n), rng.integers(0, num_classes, n)] = 1
        images = _random_images(n, size, seed + offset)
        return Split([f"img{offset}_{i}" for i in range(n)], labels, TensorImages(images, labels))

    return DatasetBundle("bench", [f"c{k}" for k in range(num_classes)], split(num_train, 0), split(num_test, 1))


def _jpeg_bundle(num_train: int, num_test: int, size: int, folder: Path, num_classes: int = 20, seed: int = 2) -> Any:
    """Photo-sized JPEGs behind the decode-once image store (the pipeline of VOC-LT / COCO-LT)."""
    from ltml_bench.data import DatasetBundle, Split
    from ltml_bench.imagestore import StoredImages

    rng = np.random.default_rng(seed)
    prevalence = np.geomspace(0.5, 0.02, num_classes)
    paths = write_jpegs(folder / "jpg", max(num_train, num_test), seed=seed)

    def split(n: int, train: bool) -> Any:
        labels = (rng.random((n, num_classes)) < prevalence).astype(np.uint8)
        labels[np.arange(n), rng.integers(0, num_classes, n)] = 1
        dataset = StoredImages(paths[:n], labels, train=train, image_size=size, root=folder / "store")
        return Split([f"img{int(train)}_{i}" for i in range(n)], labels, dataset)

    return DatasetBundle("bench", [f"c{k}" for k in range(num_classes)], split(num_train, True), split(num_test, False))


def bench_training(
    backbone: str, size: int, batch_size: int, steps: int, warmup: int, device_name: str,
    settings: dict[str, Any] | None = None, run_dir: Path | None = None, harness: bool = True,
    images: str = "tensor", max_images: int = 0, repeats: int = 2,
) -> dict[str, Any]:
    """Images/s of the harness and of a plain loop on the same model, batches and device.
    `images`: "tensor" (in-memory `TensorImages`, synth_lt's store) or "jpeg" (photo-sized JPEGs
    through the decode-once `StoredImages`, augmented on the device). `max_images` > 0 caps the
    distinct images (the plain loop cycles through them; the harness then runs fewer steps)."""
    import tempfile

    import torch

    from ltml_bench.api import resolve_config
    from ltml_bench.harness import Plan, prepare_images, resolve_device, seed_everything, train_and_evaluate
    from ltml_bench.model import build_model
    from ltml_bench.registry import DatasetSpec, get_method

    device = resolve_device(device_name)
    num_train = batch_size * steps
    distinct = min(num_train, max_images) if max_images > 0 else num_train
    num_test = max(2, min(64, batch_size))
    scratch = tempfile.TemporaryDirectory(prefix="ltml-bench-train-")
    if images == "jpeg":
        bundle = _jpeg_bundle(distinct, num_test, size, Path(scratch.name))
        from ltml_bench import distributed

        prepare_images(bundle, device, distributed.DistInfo(1, 0, 0, False))
    else:
        bundle = _bundle(distinct, num_test, size, num_classes=20)
    spec = DatasetSpec(name="bench", title="bench", summary="random in-memory images", build=lambda: bundle)
    values = {"backbone": backbone, "pretrained": False, "batch_size": batch_size, "warmup_iters": 0,
              "image_size": size, "eval_batch_size": max(2, min(64, batch_size))}
    values.update(settings or {})
    method = get_method("erm")
    config = resolve_config(method, spec, 0, values, epochs=1, device=device_name)
    cfg = config.train

    # the plain loop: same model construction, same batches, BCE, SGD
    store = bundle.train.dataset
    cycles = -(-num_train // distinct)
    order = np.concatenate([np.random.default_rng(k).permutation(distinct) for k in range(cycles)])[:num_train]
    index_batches = [order[i : i + batch_size] for i in range(0, num_train, batch_size)]
    use_amp = cfg.amp and device.type == "cuda"

    def plain_loop() -> float:
        seed_everything(0, device)  # the harness's global torch settings (deterministic kernels on CPU)
        model = build_model(cfg.backbone, False, bundle.num_classes, bundle.train.class_counts, None, {}, cfg.neck_dim,
                            cfg.dropout, cfg.freeze_prefixes, cfg.frozen_bn).to(device)
        if device.type == "cuda":
            model = model.to(memory_format=torch.channels_last)
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        model.train()
        g = torch.Generator().manual_seed(0)
        t_start = 0.0
        for step, idx in enumerate(index_batches):
            if step == warmup:
                _sync(device)
                t_start = time.perf_counter()
            x, y = store.get_batch(idx, train=True, generator=g)
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            if device.type == "cuda":
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
                out = model(x)
            loss = loss_fn(out.float(), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:  # the recipe's optimiser step includes clipping: same work on both sides
                torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            optimizer.step()
        _sync(device)
        return (steps - warmup) * batch_size / (time.perf_counter() - t_start)

    plain_first = plain_loop()
    result: dict[str, Any] = {
        "train_backbone": backbone, "train_image_size": size, "train_batch_size": batch_size,
        "train_timed_steps": steps - warmup,
        "plain_loop_images_per_s": round(plain_first, 1),
    }
    result["train_images"] = images
    if not harness:
        scratch.cleanup()
        return result
    harness_steps = distinct // batch_size  # the harness runs one epoch over the distinct images

    marks: dict[int, float] = {}

    def progress(phase: str, done: int, total: int) -> None:
        if phase == "train" and done in (warmup, harness_steps):
            _sync(device)
            marks[done] = time.perf_counter()

    def harness_run() -> float:
        marks.clear()
        with tempfile.TemporaryDirectory(prefix="ltml-bench-bench-") as tmp:
            plan = Plan(spec=method, bundle=bundle, config=config, run_dir=Path(run_dir or tmp) / "run", progress=progress)
            train_and_evaluate(plan)
        return (harness_steps - warmup) * batch_size / (marks[harness_steps] - marks[warmup])

    # interleaved, `repeats` runs each (plain, harness, plain, harness, ...); the medians are compared,
    # so neither a burst of load nor one lucky run on a shared machine favours one side
    plain_all, harness_all = [plain_first], [harness_run()]
    for _ in range(repeats - 1):
        plain_all.append(plain_loop())
        harness_all.append(harness_run())
    plain_ips, harness_ips = float(np.median(plain_all)), float(np.median(harness_all))
    scratch.cleanup()
    result["harness_runs_images_per_s"] = [round(v, 1) for v in harness_all]
    result["plain_loop_runs_images_per_s"] = [round(v, 1) for v in plain_all]
    result["plain_loop_images_per_s"] = round(plain_ips, 1)
    result["harness_images_per_s"] = round(harness_ips, 1)
    result["harness_vs_plain_loop"] = round(harness_ips / plain_ips, 3)
    return result


def _largest_batch(backbone: str, size: int, device: Any, settings: dict[str, Any], start: int = 32, cap: int = 1024) -> int:
    """Largest batch (doubling from `start`) whose training step fits in CUDA memory."""
    import torch

    from ltml_bench.model import build_model

    best = 0
    batch = start
    while batch <= cap:
        model = optimizer = x = out = loss = None
        try:
            model = build_model(backbone, False, 20, np.ones(20, dtype=np.int64), None, {}, 256, 0.5,
                                settings.get("freeze_prefixes", ()), settings.get("frozen_bn", False)).to(device)
            model = model.to(memory_format=torch.channels_last).train()
            optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01, momentum=0.9)
            x = torch.randn(batch, 3, size, size, device=device).contiguous(memory_format=torch.channels_last)
            with torch.autocast("cuda", dtype=torch.bfloat16):
                out = model(x)
            loss = out.float().sum()
            loss.backward()
            optimizer.step()
            torch.cuda.synchronize(device)
            best = batch
            batch *= 2
        except torch.cuda.OutOfMemoryError:
            break
        finally:
            del model, optimizer, x, out, loss
            torch.cuda.empty_cache()
    return best


def bench_resnet50_cuda(device_name: str) -> dict[str, Any]:
    """ResNet-50 at 224 px, the recipe's frozen stem + layer1 and frozen BatchNorm (CUDA only)."""
    import torch

    from ltml_bench.harness import resolve_device

    device = resolve_device(device_name)
    recipe = {"freeze_prefixes": ("conv1", "bn1", "layer1"), "frozen_bn": True}
    out: dict[str, Any] = {}
    # photo-sized JPEGs through the decode-once store, augmented on the GPU (the VOC/COCO pipeline)
    r32 = bench_training("resnet50", 224, 32, steps=30, warmup=10, device_name=device_name, settings=recipe, images="jpeg")
    out["resnet50_224_b32"] = r32
    torch.cuda.empty_cache()
    largest = _largest_batch("resnet50", 224, device, recipe)
    out["resnet50_224_largest_batch"] = largest
    batch = largest
    while batch > 32:
        torch.cuda.empty_cache()
        # one step's memory plus the store and the batch's augmentation temporaries: time the largest
        # batch through the plain loop over 512 images, halving it if the augmentation does not fit beside
        try:
            out["resnet50_224_blargest"] = bench_training("resnet50", 224, batch, steps=8, warmup=3, device_name=device_name,
                                                          settings=recipe, harness=False, images="jpeg", max_images=512)
            out["resnet50_224_blargest_batch"] = batch
            break
        except torch.cuda.OutOfMemoryError:
            batch //= 2
    return out


# -- the whole benchmark ------------------------------------------------------------------------
def _peak_memory_mb(device: Any) -> float:
    import torch

    if device.type == "cuda":
        return round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux: KiB


def _device_label(device: Any) -> tuple[str, str]:
    import torch

    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = platform.processor() or platform.machine() or "cpu"
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
    return str(device), name


def run_bench(quick: bool = False, device_name: str = "auto", threads: int = 0, log: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """All measurements; `threads` > 0 sets torch's CPU threads for both sides of every ratio."""
    import torch

    from ltml_bench import __version__
    from ltml_bench.harness import resolve_device

    if threads > 0:
        torch.set_num_threads(threads)
    device = resolve_device(device_name)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    started = time.perf_counter()
    dev, name = _device_label(device)
    record: dict[str, Any] = {
        "device": dev,
        "device_name": name,
        "quick": quick,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "ltml_bench": __version__,
        "timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    log("average precision vs scikit-learn ...")
    record.update(bench_ap(repeats=2 if quick else 5, device=device))
    log("input pipeline (JPEGs, recipe augmentation, 224 px) vs torchvision ...")
    record.update(bench_image_pipeline(num_images=64 if quick else 256, batch_size=32, repeats=1 if quick else 2, device=device))
    log("in-memory TensorImages (synth_lt) vs torchvision ...")
    record["tensor_pipeline_32"] = bench_pipeline(num_images=256 if quick else 2048, size=32, batch_size=32, repeats=2 if quick else 3)
    log("training step: harness vs plain loop ...")
    steps, warmup, repeats = (10, 3, 2) if quick else (80, 10, 3)
    record.update(bench_training("ltml_cifar_resnet_small", 32, 32, steps, warmup, str(device), settings={"neck_dim": 16}, repeats=repeats))
    if device.type == "cuda" and not quick:
        log("ResNet-50 at 224 px ...")
        record.update(bench_resnet50_cuda(str(device)))
    record["peak_memory_mb"] = _peak_memory_mb(device)
    record["peak_memory_kind"] = "cuda_max_allocated" if device.type == "cuda" else "process_max_rss"
    record["bench_seconds"] = round(time.perf_counter() - started, 1)
    return record


def record_path(out_dir: Path, record: dict[str, Any]) -> Path:
    slug = "".join(ch if ch.isalnum() else "-" for ch in f"{record['device']}-{record['device_name']}").strip("-")
    while "--" in slug:
        slug = slug.replace("--", "-")
    stamp = record["timestamp"].replace("-", "").replace(":", "")
    return Path(out_dir) / f"{slug[:60]}-{stamp}.json"


def summary_lines(record: dict[str, Any]) -> list[str]:
    lines = [
        f"device: {record['device']} ({record['device_name']}), torch threads {record['torch_threads']}",
        f"training   harness {record['harness_images_per_s']:.0f} img/s vs plain loop {record['plain_loop_images_per_s']:.0f} img/s"
        f"  -> harness_vs_plain_loop {record['harness_vs_plain_loop']:.2f}",
        f"pipeline   image store {record['pipeline_ours_images_per_s']:.0f} img/s vs torchvision {record['pipeline_torchvision_images_per_s']:.0f} img/s"
        f"  -> pipeline_vs_torchvision {record['pipeline_vs_torchvision']:.1f}x (per-image decode {record['pipeline_uncached_images_per_s']:.0f} img/s;"
        f" {record['pipeline_source']})",
        f"synth_lt   TensorImages {record['tensor_pipeline_32']['ours_images_per_s']:.0f} img/s vs torchvision"
        f" {record['tensor_pipeline_32']['torchvision_images_per_s']:.0f} img/s -> {record['tensor_pipeline_32']['vs_torchvision']:.1f}x",
        f"AP 5000x80 ours {record['ap_ours_ms']:.1f} ms vs sklearn {record['ap_sklearn_ms']:.1f} ms"
        f"  -> ap_speedup_vs_sklearn {record['ap_speedup_vs_sklearn']:.1f}x (max |diff| {record['ap_max_abs_diff']:.1e})",
        f"peak memory {record['peak_memory_mb']:.0f} MB ({record['peak_memory_kind']}); took {record['bench_seconds']:.0f} s",
    ]
    if "resnet50_224_b32" in record:
        r = record["resnet50_224_b32"]
        lines.append(f"ResNet-50 224px b32: harness {r['harness_images_per_s']:.0f} img/s, plain {r['plain_loop_images_per_s']:.0f} img/s")
        if "resnet50_224_blargest" in record:
            lines.append(f"ResNet-50 224px b{record['resnet50_224_blargest_batch']} (largest model step: b{record['resnet50_224_largest_batch']}):"
                         f" plain {record['resnet50_224_blargest']['plain_loop_images_per_s']:.0f} img/s")
    return lines


__all__ = ["run_bench", "record_path", "summary_lines", "bench_ap", "bench_pipeline", "bench_training"]
