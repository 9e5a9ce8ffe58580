"""Decode-once image store for image-file datasets, and the recipe's augmentation on whole batches.

The fast input pipeline of VOC-LT, COCO-LT and CSV datasets (dataset option `image_cache=true`,
the default). Two parts:

`ImageStore`: every image of a split decoded ONCE (PIL, converted to RGB, as `images.load_rgb`)
into one memory-mapped uint8 file of pixels [P, 3] (the images' HWC pixels one after another,
at their native size), with an index of offsets / heights / widths. It lives in the cache
(`$LTML_BENCH_CACHE/images/<hash of the path list>-<fingerprint>/`), the fingerprint hashing
each file's path, size and modification time, so changing, adding or replacing a source file
builds a new store (the stale one is deleted). The manifest holds a CRC-32 of the pixel bytes,
written at build and checked on every open: a damaged store is rebuilt with a warning. A store is written into a temporary folder and
renamed into place, so a killed build leaves nothing a later run would trust (its temporary
folder is removed by the next build); a lock file beside
it makes parallel jobs (`sweep --jobs N`) build it once while the others wait.

`StoredImages`: the split's dataset. `get_batch(indices, train, generator)` applies the exact
per-image semantics of `images.ImageListDataset` (photometric distortion, random crop, bilinear
resize to S x S, flip, normalise; see `ltml_bench.data.images`) to a whole batch at once, on the device
that holds the pixels (the GPU after `to(device)`, when the store fits in its memory):

* The random draws are those of the per-image pipeline, in the same order: for each image, a
  seed from `torch.randint(0, 2**62, (1,), generator=generator)`, then the numpy draws of
  `photometric_params`, `crop_box` and the flip. The same torch RNG state therefore gives the
  same images as `ImageListDataset[i]` called in the same order (tested to float rounding).
* The native-size images are never resized first (the recipe crops BEFORE it resizes, so a
  pre-resized store would change the images). Instead each output pixel of the bilinear resize
  of the crop is computed from its four source pixels: gather them from the store, apply the
  photometric distortion to each (it is per pixel, so it commutes with the gather), and blend
  them with the bilinear weights (half-pixel centres, edge-clamped, no antialias: what
  `F.interpolate(mode="bilinear", align_corners=False)` computes). The flip reverses the column
  map. Cost is four photometric evaluations per OUTPUT pixel, independent of the source size.

Disk: native-size pixels, about 0.55 MB per VOC image and 0.9 MB per COCO image (VOC-LT train +
test about 3.4 GB, COCO-LT about 6 GB); the build checks free space first and says how to point
`$LTML_BENCH_CACHE` elsewhere. `image_cache=false` keeps the per-file pipeline (PIL decode in
DataLoader workers).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ltml_bench.data.images import FLIP_P, ImageListDataset, bomb_message, crop_box, decode_rgb, photometric_params
from ltml_bench.data.interface import IMAGENET_MEAN, IMAGENET_STD
from ltml_bench.errors import DataError, setting
from ltml_bench.storage.cache import cache_dir
from ltml_bench.storage.locks import file_lock

STORE_VERSION = 1
PIXELS_FILE = "pixels.u8"
INDEX_FILE = "index.npz"
MANIFEST_FILE = "manifest.json"

Progress = Callable[[int, int], None]


def _paths_key(paths: Sequence[str]) -> str:
    return hashlib.sha256(("\n".join(paths) + f"\nv{STORE_VERSION}").encode()).hexdigest()[:16]


def source_fingerprint(paths: Sequence[str]) -> str:
    """Hash of every file's path, size and modification time (a change means a new store)."""
    digest = hashlib.sha256()
    for path in paths:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise DataError(f"image {path} is listed but missing; restore the file or prepare the dataset again") from None
        digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _image_size(path: str) -> tuple[int, int]:
    """(height, width) from the file header, without decoding the pixels."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            width, height = img.size
    except FileNotFoundError:
        raise DataError(f"image {path} is listed but missing; restore the file or prepare the dataset again") from None
    except Image.DecompressionBombError as exc:
        raise DataError(bomb_message(path, exc)) from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataError(f"image {path} is unreadable ({type(exc).__name__}: {exc}); replace the file") from None
    return int(height), int(width)


def store_folder(paths: Sequence[str], root: Path | None = None) -> Path:
    """Where the store of `paths` lives: `<root or cache>/images/<hash of the list>-<fingerprint>`."""
    return (root or cache_dir() / "images") / f"{_paths_key(paths)}-{source_fingerprint(paths)}"


class ImageStore:
    """The decoded pixels of a list of image files: `pixels` [P, 3] uint8 (memory-mapped) and the
    per-image `offsets` (first pixel), `heights` and `widths`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        with np.load(folder / INDEX_FILE, allow_pickle=False) as index:
            self.offsets = index["offsets"].astype(np.int64)
            self.heights = index["heights"].astype(np.int64)
            self.widths = index["widths"].astype(np.int64)
        total = int((self.heights * self.widths).sum())
        size = (folder / PIXELS_FILE).stat().st_size
        if size != total * 3:
            raise ValueError(f"{folder / PIXELS_FILE}: {size} bytes, expected {total * 3}")
        manifest = json.loads((folder / MANIFEST_FILE).read_text())
        expected = manifest.get("crc32") if isinstance(manifest, dict) else None
        if not isinstance(expected, int):
            raise ValueError(f"{folder / MANIFEST_FILE} has no content digest (a store of an older version)")
        # copy-on-write mapping: writable for torch.from_numpy, never written back
        self.pixels = np.memmap(folder / PIXELS_FILE, dtype=np.uint8, mode="c", shape=(total, 3)) if total else np.zeros((0, 3), np.uint8)
        found = content_crc32(self.pixels)
        if found != expected:
            raise ValueError(f"{folder / PIXELS_FILE}: content digest {found:08x} differs from {expected:08x} written at build")

    def __len__(self) -> int:
        return len(self.offsets)

    def image(self, i: int) -> np.ndarray:
        """Image i as uint8 [H, W, 3]."""
        h, w, start = int(self.heights[i]), int(self.widths[i]), int(self.offsets[i])
        return np.asarray(self.pixels[start : start + h * w]).reshape(h, w, 3)

    @property
    def nbytes(self) -> int:
        return int(self.pixels.shape[0]) * 3

    @classmethod
    def open_or_build(cls, paths: Sequence[str | Path], root: Path | None = None, progress: Progress | None = None,
                      workers: int = 0) -> "ImageStore":
        """The store of `paths` from the cache, built first if missing or stale."""
        paths = [str(p) for p in paths]
        folder = store_folder(paths, root)
        base, prefix = folder.parent, folder.name.split("-")[0]
        if folder.is_dir():
            try:
                return cls(folder)
            except Exception as exc:  # damaged: rebuilt below, never used
                warnings.warn(f"image store {folder} is damaged ({exc}); rebuilding it", stacklevel=2)
        try:
            base.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(f"cannot create the image store folder {base} ({exc.strerror}); point $LTML_BENCH_CACHE "
                            f"at a writable folder or use {setting('image_cache', False)}") from None
        # parallel jobs (sweep --jobs N, torchrun ranks on several nodes) build it once: the others wait here
        with file_lock(base / f".{prefix}.lock"):
            for stale in base.glob(f".{prefix}-*.tmp"):  # left by a build that was killed (we hold the lock: none is running)
                shutil.rmtree(stale, ignore_errors=True)
            if folder.is_dir():
                try:
                    return cls(folder)  # built by another process meanwhile
                except Exception:  # an unreadable store is rebuilt, never trusted
                    shutil.rmtree(folder, ignore_errors=True)
            build_store(paths, folder, progress=progress, workers=workers)
            for stale in base.glob(f"{prefix}-*"):  # stores of the same list before its files changed
                if stale != folder and stale.is_dir():
                    shutil.rmtree(stale, ignore_errors=True)
        return cls(folder)


def content_crc32(pixels: np.ndarray, chunk: int = 1 << 24) -> int:
    """zlib CRC-32 of the store's pixel bytes, read in 16 MiB chunks: written at build, checked on
    every open, so a store overwritten or damaged on disk is rebuilt instead of trained on. It costs
    one read of the file (2.8 s per GiB measured on a shared 2-core machine; datasets/README.md)."""
    flat = pixels.reshape(-1)
    crc = 0
    for start in range(0, flat.shape[0], chunk):
        crc = zlib.crc32(memoryview(np.ascontiguousarray(flat[start : start + chunk])), crc)
    return crc


def build_store(paths: Sequence[str], folder: Path, progress: Progress | None = None, workers: int = 0) -> None:
    """Decode every image into `folder` (written in a temporary folder beside it, then renamed into
    place); `folder`'s parent exists (`ImageStore.open_or_build` creates it)."""
    shapes = [_image_size(p) for p in paths]
    heights = np.array([h for h, _ in shapes], dtype=np.int64)
    widths = np.array([w for _, w in shapes], dtype=np.int64)
    counts = heights * widths
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if len(paths) else np.zeros(0, np.int64)
    total = int(counts.sum())
    free = shutil.disk_usage(folder.parent).free
    if total * 3 > free - 2**28:
        raise DataError(
            f"the decoded image store needs {total * 3 / 2**30:.1f} GiB in {folder.parent} but {free / 2**30:.1f} GiB is free; "
            f"free space, point $LTML_BENCH_CACHE at a larger disk, or use {setting('image_cache', False)} (decode per step)"
        )
    try:
        _write_store(paths, folder, heights, widths, offsets, counts, progress, workers)
    except OSError as exc:
        raise DataError(
            f"could not write the image store in {folder.parent} ({exc.strerror or exc}); free space or fix permissions, "
            f"point $LTML_BENCH_CACHE elsewhere, or use {setting('image_cache', False)}"
        ) from exc


def _write_store(paths: Sequence[str], folder: Path, heights: np.ndarray, widths: np.ndarray, offsets: np.ndarray,
                 counts: np.ndarray, progress: Progress | None, workers: int) -> None:
    total = int(counts.sum())
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".tmp"))
    try:
        pixels = np.memmap(tmp / PIXELS_FILE, dtype=np.uint8, mode="w+", shape=(max(total, 1), 3))

        def decode(i: int) -> int:
            img = decode_rgb(paths[i])
            if img.shape[:2] != (heights[i], widths[i]):
                raise DataError(f"image {paths[i]}: decoded size {img.shape[:2]} differs from its header {heights[i], widths[i]}; re-save the file")
            pixels[offsets[i] : offsets[i] + counts[i]] = img.reshape(-1, 3)
            return i

        done = 0
        with ThreadPoolExecutor(max_workers=workers or min(8, os.cpu_count() or 1)) as pool:  # PIL decodes without the GIL
            for _ in pool.map(decode, range(len(paths))):
                done += 1
                if progress is not None and (done % 64 == 0 or done == len(paths)):
                    progress(done, len(paths))
        pixels.flush()
        digest = content_crc32(pixels[:total])
        del pixels
        if total == 0:
            (tmp / PIXELS_FILE).write_bytes(b"")
        np.savez(tmp / INDEX_FILE, offsets=offsets, heights=heights, widths=widths)
        manifest = {"version": STORE_VERSION, "images": len(paths), "bytes": total * 3, "crc32": digest}
        (tmp / MANIFEST_FILE).write_text(json.dumps(manifest))
        try:
            os.rename(tmp, folder)
        except OSError:  # another process finished the same store first: keep theirs
            if not (folder / INDEX_FILE).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# -- batched augmentation -------------------------------------------------------------------------
def _axis_map(in_size: np.ndarray, out_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bilinear source indices i0, i1 [B, S] and weight of i1 [B, S] (float32), per PyTorch's
    align_corners=False rule: src = (dst + 0.5) * in / out - 0.5, clamped at 0."""
    scale = (in_size.astype(np.float32) / np.float32(out_size))[:, None]
    dst = np.arange(out_size, dtype=np.float32)[None, :]
    src = np.maximum(scale * (dst + np.float32(0.5)) - np.float32(0.5), np.float32(0.0))
    i0 = np.minimum(src.astype(np.int64), in_size[:, None] - 1)
    i1 = np.minimum(i0 + 1, in_size[:, None] - 1)
    lam = (src - i0.astype(np.float32)).astype(np.float32)
    return i0, i1, lam


def _rgb_to_hsv(x: Any) -> tuple[Any, Any, Any]:
    """`images.rgb_to_hsv` in torch on planar x [N, 3, ...]: (h, s, v), each [N, ...].

    Same case analysis as OpenCV / the numpy reference; 60 / diff is computed once per pixel
    (a difference of float rounding only)."""
    import torch

    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    v = torch.maximum(torch.maximum(r, g), b)
    diff = v - torch.minimum(torch.minimum(r, g), b)
    s = torch.where(v > 0, diff / v, 0.0)  # v <= 0 (possible after brightness): S = 0
    chroma = diff > 0
    inv = 60.0 / torch.where(chroma, diff, 1.0)
    h = torch.where(v == r, (g - b) * inv, torch.where(v == g, (b - r) * inv + 120.0, (r - g) * inv + 240.0))
    h = torch.where(chroma, h, 0.0)
    h = torch.where(h < 0, h + 360.0, h)
    return h, s, v


def _hsv_to_rgb(h: Any, s: Any, v: Any) -> Any:
    """`images.hsv_to_rgb` in torch for h in [0, 360]: planar [N, 3, ...]. OpenCV's sector table in
    its closed form, channel = v - v s clamp(min(k, 4 - k), 0, 1) with k = (n + h / 60) mod 6,
    n = 5, 3, 1 for R, G, B."""
    import torch

    h6 = h / 60.0  # h is in [0, 360] here (360 only by rounding, and it acts as 0 below)
    vs = v * s
    out = []
    for n in (5.0, 3.0, 1.0):
        k = h6 + n
        k = torch.where(k >= 6.0, k - 6.0, k)  # (n + h6) mod 6, as n + h6 < 12
        out.append(v - vs * torch.minimum(k, 4.0 - k).clamp_(0.0, 1.0))
    return torch.stack(out, dim=1)


def _hsv_part(x: Any, prm: dict[str, Any]) -> Any:
    """Steps a-h of `images.apply_photometric` up to and including the HSV round trip, for the
    images that draw saturation or hue (planar `x` [M, 3, ...] holds exactly those, in `hsv_items` order).
    An image without a hue draw gets hue + 0 and the wrap-around, which `hsv_to_rgb` (mod 360) undoes."""
    import torch

    items = prm["hsv_items"]
    shape = (-1,) + (1,) * (x.ndim - 1)
    x = (x + prm["brightness"].index_select(0, items).view(shape)) * prm["contrast_first"].index_select(0, items).view(shape)
    h, s, v = _rgb_to_hsv(x)
    sub_shape = shape[:-1]
    s = s * prm["saturation"].index_select(0, items).view(sub_shape)
    h = h + prm["hue"].index_select(0, items).view(sub_shape)
    h = torch.where(h >= 360.0, h - 360.0, h)
    h = torch.where(h < 0.0, h + 360.0, h)
    return _hsv_to_rgb(h, s, v)


def _affine_part(x: Any, prm: dict[str, Any], hsv_done: bool) -> Any:
    """The per-pixel affine rest of the distortion (brightness and first contrast for images
    without an HSV step, last contrast, channel swap) on planar x [B, 3, ...]. Affine maps commute
    with the bilinear blend, so this runs once on the resized batch instead of on four corner sets."""
    shape = (-1,) + (1,) * (x.ndim - 1)
    brightness, first = prm["brightness"], prm["contrast_first"]
    if hsv_done:  # those images had both applied before their HSV round trip
        brightness = brightness.masked_fill(prm["hsv_mask"], 0.0)
        first = first.masked_fill(prm["hsv_mask"], 1.0)
    x = (x + brightness.view(shape)) * (first * prm["contrast_last"]).view(shape)
    return x.gather(1, prm["swap"].view(x.shape[0], 3, *([1] * (x.ndim - 2))).expand(x.shape))


def _photometric(x: Any, prm: dict[str, Any]) -> Any:
    """The distortion of `images.apply_photometric` on a planar batch x [B, 3, ...] with per-image params."""
    items = prm["hsv_items"]
    if items.numel():
        x = x.index_copy(0, items, _hsv_part(x.index_select(0, items), prm))
    return _affine_part(x, prm, hsv_done=True)


def _params_tensors(params: list[dict[str, Any]], device: Any) -> dict[str, Any]:
    import torch

    n = len(params)
    brightness = np.zeros(n, np.float32)
    first = np.ones(n, np.float32)
    last = np.ones(n, np.float32)
    saturation = np.ones(n, np.float32)
    hue = np.zeros(n, np.float32)
    has_hue = np.zeros(n, bool)
    hsv = np.zeros(n, bool)
    swap = np.tile(np.arange(3), (n, 1))
    for i, p in enumerate(params):
        brightness[i] = p.get("brightness", 0.0)
        if "contrast" in p:
            (first if p["mode"] == 1 else last)[i] = p["contrast"]
        saturation[i] = p.get("saturation", 1.0)
        hue[i] = p.get("hue", 0.0)
        has_hue[i] = "hue" in p
        hsv[i] = "saturation" in p or "hue" in p
        if "swap" in p:
            swap[i] = p["swap"]

    def t(a: np.ndarray) -> Any:
        return torch.from_numpy(a).to(device, non_blocking=True)

    return {"brightness": t(brightness), "contrast_first": t(first), "contrast_last": t(last), "saturation": t(saturation),
            "hue": t(hue), "has_hue": t(has_hue), "hsv_mask": t(hsv), "hsv_items": t(np.flatnonzero(hsv).astype(np.int64)),
            "swap": t(swap.astype(np.int64))}


def resize_batch(pixels: Any, offsets: np.ndarray, widths: np.ndarray, boxes: np.ndarray, flips: np.ndarray, size: int,
                 params: list[dict[str, Any]] | None = None) -> Any:
    """Float images [B, 3, S, S] in 0..255: crop `boxes` [B, 4] (top, bottom, left, right) of the
    stored images, photometric `params` (per image, or None), bilinear resize to S x S, flips."""
    import torch

    device = pixels.device
    top, bottom, left, right = (boxes[:, k] for k in range(4))
    r0, r1, lr = _axis_map(bottom - top, size)
    c0, c1, lc = _axis_map(right - left, size)
    c0, c1, lc = (np.where(flips[:, None], a[:, ::-1], a) for a in (c0, c1, lc))
    def put(a: np.ndarray) -> Any:  # asynchronous host-to-device copies: no synchronisation per batch
        return torch.from_numpy(np.ascontiguousarray(a)).to(device, non_blocking=True)

    rows = [put((top[:, None] + r) * widths[:, None] + offsets[:, None]) for r in (r0, r1)]
    cols = [put(left[:, None] + c) for c in (c0, c1)]
    prm = _params_tensors(params, device) if params is not None else None
    items = prm["hsv_items"] if prm is not None else None
    corners = []
    for row in rows:
        for col in cols:
            v = pixels[(row[:, :, None] + col[:, None, :]).reshape(-1)].view(len(boxes), size, size, 3)
            v = v.permute(0, 3, 1, 2).to(torch.float32, memory_format=torch.contiguous_format)  # planar [B, 3, S, S]
            if items is not None and items.numel():  # the non-linear HSV step, per source pixel
                v.index_copy_(0, items, _hsv_part(v.index_select(0, items), prm))
            corners.append(v)
    wr = put(lr)[:, None, :, None]
    wc = put(lc)[:, None, None, :]
    out = torch.lerp(torch.lerp(corners[0], corners[1], wc), torch.lerp(corners[2], corners[3], wc), wr)
    if prm is not None:
        out = _affine_part(out, prm, hsv_done=True)
    return out


def batch_pixels(pixels: Any, offsets: np.ndarray, sizes: np.ndarray) -> tuple[Any, np.ndarray]:
    """The pixels of a batch's images only, one after another, and their offsets in that copy."""
    import torch

    parts = [pixels[int(start) : int(start + n)] for start, n in zip(offsets, sizes)]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return torch.cat(parts), starts


class StoredImages(ImageListDataset):
    """Map-style dataset over image files backed by an `ImageStore`, batched by the harness.

    An `images.ImageListDataset` (same constructor, `paths`, `eval_view`, and the same images;
    see the module docstring) whose items come from the decoded store, plus `prepare(progress)`
    (open or build the store), `to(device)` (move the pixels to a GPU) and
    `get_batch(indices, train, generator)`.
    """

    def __init__(self, paths: Sequence[str | Path], labels: np.ndarray, train: bool, image_size: int = 224,
                 mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD, root: Path | None = None) -> None:
        super().__init__(paths, labels, train, image_size, mean, std)
        self.root = root
        self._state: dict[str, Any] = {}  # shared by eval views (shallow copies): the opened store and the pixels tensor

    def prepare(self, progress: Progress | None = None) -> ImageStore:
        """Open the store (building it on first use); idempotent."""
        import torch

        if "store" not in self._state:
            store = ImageStore.open_or_build(self.paths, root=self.root, progress=progress)
            self._state["store"] = store
            self._state["pixels"] = torch.from_numpy(store.pixels)
        return self._state["store"]

    def needs_build(self) -> bool:
        """True when `prepare` will decode the images (no store yet, or its files changed)."""
        return "store" not in self._state and not (store_folder(self.paths, self.root) / INDEX_FILE).is_file()

    def to(self, device: Any) -> "StoredImages":
        """Move the pixels to `device` (a GPU) when they fit in a third of its free memory; else
        they stay memory-mapped and each batch's source pixels are copied over."""
        import torch

        self.prepare()
        device = torch.device(device)
        self._state["compute"] = device
        pixels = self._state["pixels"]
        if device.type == "cuda" and pixels.device != device:
            free, _ = torch.cuda.mem_get_info(device)
            if pixels.numel() < free / 3:
                self._state["pixels"] = pixels.to(device)
        return self

    def _moments(self, device: Any) -> tuple[Any, Any]:
        key = ("moments", str(device))
        if key not in self._state:
            self._state[key] = (self.mean.to(device), self.std.to(device))
        return self._state[key]

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        import torch

        x, y = self.get_batch([index], train=self.train, generator=torch.default_generator)
        return x[0], y[0]

    def get_batch(self, indices: Sequence[int] | Any, train: bool, generator: Any = None) -> tuple[Any, Any]:
        import torch

        store = self.prepare()
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        heights, widths = store.heights[idx], store.widths[idx]
        boxes = np.stack([np.zeros_like(heights), heights, np.zeros_like(widths), widths], axis=1)
        flips = np.zeros(len(idx), dtype=bool)
        params = None
        train = train and self.train
        if train:
            params = []
            for j in range(len(idx)):
                seed = int(torch.randint(0, 2**62, (1,), generator=generator).item())
                rng = np.random.default_rng(seed)
                params.append(photometric_params(rng))
                box = crop_box(int(heights[j]), int(widths[j]), rng)
                if box is not None:
                    boxes[j] = box
                flips[j] = rng.random() < FLIP_P
        pixels = self._state["pixels"]
        compute = self._state.get("compute", pixels.device)
        if pixels.device != compute:  # pixels on the host, maths on the GPU: copy only this batch's images
            local, starts = batch_pixels(pixels, store.offsets[idx], heights * widths)
            x = resize_batch(local.to(compute, non_blocking=True), starts, widths, boxes, flips, self.image_size, params)
        else:
            x = resize_batch(pixels, store.offsets[idx], widths, boxes, flips, self.image_size, params)
        mean, std = self._moments(x.device)
        x = (x - mean) / std
        return x.contiguous(), self.targets[torch.from_numpy(idx)]
