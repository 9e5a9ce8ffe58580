"""The training step: the harness against a plain PyTorch loop (`harness_vs_plain_loop`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from ltml_bench.bench.inputs import random_images, write_jpegs
from ltml_bench.bench.timing import sync


def _bundle(num_train: int, num_test: int, size: int, num_classes: int, seed: int = 2) -> Any:
    from ltml_bench.data.interface import DatasetBundle, Split, TensorImages

    rng = np.random.default_rng(seed)
    prevalence = np.geomspace(0.5, 0.02, num_classes)

    def split(n: int, offset: int) -> Any:
        labels = (rng.random((n, num_classes)) < prevalence).astype(np.uint8)
        labels[np.arange(n), rng.integers(0, num_classes, n)] = 1
        images = random_images(n, size, seed + offset)
        return Split([f"img{offset}_{i}" for i in range(n)], labels, TensorImages(images, labels))

    return DatasetBundle("bench", [f"c{k}" for k in range(num_classes)], split(num_train, 0), split(num_test, 1))


def _jpeg_bundle(num_train: int, num_test: int, size: int, folder: Path, num_classes: int = 20, seed: int = 2) -> Any:
    """Photo-sized JPEGs behind the decode-once image store (the pipeline of VOC-LT / COCO-LT)."""
    from ltml_bench.data.imagestore import StoredImages
    from ltml_bench.data.interface import DatasetBundle, Split

    rng = np.random.default_rng(seed)
    prevalence = np.geomspace(0.5, 0.02, num_classes)
    paths = write_jpegs(folder / "jpg", max(num_train, num_test), seed=seed)

    def split(n: int, train: bool) -> Any:
        labels = (rng.random((n, num_classes)) < prevalence).astype(np.uint8)
        labels[np.arange(n), rng.integers(0, num_classes, n)] = 1
        dataset = StoredImages(paths[:n], labels, train=train, image_size=size, root=folder / "store")
        return Split([f"img{int(train)}_{i}" for i in range(n)], labels, dataset)

    return DatasetBundle("bench", [f"c{k}" for k in range(num_classes)], split(num_train, True), split(num_test, False))


def _bench_bundle(images: str, num_train: int, num_test: int, size: int, folder: Path, device: Any) -> Any:
    """Random in-memory images ("tensor") or photo-sized JPEGs behind an opened image store ("jpeg")."""
    if images != "jpeg":
        return _bundle(num_train, num_test, size, num_classes=20)
    from ltml_bench.training.execution import SingleProcess
    from ltml_bench.training.inputs import prepare_images

    bundle = _jpeg_bundle(num_train, num_test, size, folder)
    prepare_images(bundle, device, SingleProcess(device))
    return bundle


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

    from ltml_bench.api import resolve_config
    from ltml_bench.registry import DatasetSpec, get_method
    from ltml_bench.training.devices import resolve_device

    device = resolve_device(device_name)
    num_train = batch_size * steps
    distinct = min(num_train, max_images) if max_images > 0 else num_train
    scratch = tempfile.TemporaryDirectory(prefix="ltml-bench-train-")
    bundle = _bench_bundle(images, distinct, max(2, min(64, batch_size)), size, Path(scratch.name), device)
    spec = DatasetSpec(name="bench", title="bench", summary="random in-memory images", build=lambda: bundle)
    # the images are already at `size` (a prebuilt bundle): image_size is not a setting of this dataset
    values = {"backbone": backbone, "pretrained": False, "batch_size": batch_size, "warmup_iters": 0,
              "eval_batch_size": max(2, min(64, batch_size))}
    values.update(settings or {})
    method = get_method("erm")
    config = resolve_config(method, spec, 0, values, epochs=1, device=device_name)

    # the plain loop: same model construction, same batches, BCE, SGD
    cycles = -(-num_train // distinct)
    order = np.concatenate([np.random.default_rng(k).permutation(distinct) for k in range(cycles)])[:num_train]
    index_batches = [order[i : i + batch_size] for i in range(0, num_train, batch_size)]

    def plain() -> float:
        return _plain_loop_images_per_s(bundle, config.train, device, index_batches, warmup)

    plain_first = plain()
    result: dict[str, Any] = {
        "train_backbone": backbone, "train_image_size": size, "train_batch_size": batch_size,
        "train_timed_steps": steps - warmup,
        "plain_loop_images_per_s": round(plain_first, 1),
        "train_images": images,
    }
    if not harness:
        scratch.cleanup()
        return result

    def through_harness() -> float:
        return _harness_images_per_s(method, bundle, config, device, distinct // batch_size, warmup, run_dir)

    # interleaved, `repeats` runs each (plain, harness, plain, harness, ...); the medians are compared,
    # so neither a burst of load nor one lucky run on a shared machine favours one side
    plain_all, harness_all = [plain_first], [through_harness()]
    for _ in range(repeats - 1):
        plain_all.append(plain())
        harness_all.append(through_harness())
    plain_ips, harness_ips = float(np.median(plain_all)), float(np.median(harness_all))
    scratch.cleanup()
    result["harness_runs_images_per_s"] = [round(v, 1) for v in harness_all]
    result["plain_loop_runs_images_per_s"] = [round(v, 1) for v in plain_all]
    result["plain_loop_images_per_s"] = round(plain_ips, 1)
    result["harness_images_per_s"] = round(harness_ips, 1)
    result["harness_vs_plain_loop"] = round(harness_ips / plain_ips, 3)
    return result


def _plain_loop_images_per_s(bundle: Any, cfg: Any, device: Any, index_batches: list[np.ndarray], warmup: int) -> float:
    """A minimal PyTorch loop (forward, BCE, backward, the recipe's clipping, SGD step) on the
    harness's model construction and batches; images/s after `warmup` steps."""
    import torch

    from ltml_bench.training.devices import seed_everything
    from ltml_bench.training.model import build_model

    seed_everything(0, device)  # the harness's global torch settings (deterministic kernels on CPU)
    model = build_model(cfg.backbone, False, bundle.num_classes, bundle.train.class_counts, None, {}, cfg.neck_dim,
                        cfg.dropout, cfg.freeze_prefixes, cfg.frozen_bn).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    use_amp = cfg.amp and device.type == "cuda"
    store = bundle.train.dataset
    model.train()
    g = torch.Generator().manual_seed(0)
    t_start = 0.0
    for step, idx in enumerate(index_batches):
        if step == warmup:
            sync(device)
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
    sync(device)
    return (len(index_batches) - warmup) * len(index_batches[0]) / (time.perf_counter() - t_start)


def _harness_images_per_s(method: Any, bundle: Any, config: Any, device: Any, harness_steps: int, warmup: int,
                          run_dir: Path | None) -> float:
    """The real harness (`train_and_evaluate`, one epoch over the distinct images), timed between
    two of its own progress callbacks: model building, evaluation and the checkpoint are left out."""
    import tempfile

    from ltml_bench.training.loop import Plan, train_and_evaluate

    marks: dict[int, float] = {}

    def progress(phase: str, done: int, total: int) -> None:
        if phase == "train" and done in (warmup, harness_steps):
            sync(device)
            marks[done] = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="ltml-bench-bench-") as tmp:
        plan = Plan(spec=method, bundle=bundle, config=config, run_dir=Path(run_dir or tmp) / "run", progress=progress)
        train_and_evaluate(plan)
    return (harness_steps - warmup) * config.train.batch_size / (marks[harness_steps] - marks[warmup])


def _largest_batch(backbone: str, size: int, device: Any, settings: dict[str, Any], start: int = 32, cap: int = 1024) -> int:
    """Largest batch (doubling from `start`) whose training step fits in CUDA memory."""
    import torch

    from ltml_bench.training.model import build_model

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

    from ltml_bench.training.devices import resolve_device

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
