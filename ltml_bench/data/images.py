"""Image files as a torch Dataset, with the published recipe's augmentation (docs/protocol.md section 3.2).

`ImageListDataset(paths, labels, train, image_size)` returns `(image, target)`: a float32 tensor
[3, S, S] normalised with the ImageNet mean / std, and a float32 multi-hot tensor [C]. The train
split's dataset (`train=True`) augments; the test split's only resizes.

Exact semantics (those of the DB code's mmdet-style `PhotoMetricDistortion` and `RandomCrop`;
pixel values are float RGB in 0..255 and are NOT clipped between steps, as there):

Train (`train=True`), in this order:
1. Photometric distortion:
   a. brightness, p = 0.5: add delta ~ U(-32, 32) to every channel;
   b. mode ~ {0, 1} with equal probability (contrast first or last);
   c. if mode == 1, contrast, p = 0.5: multiply by alpha ~ U(0.5, 1.5);
   d. RGB -> HSV (OpenCV float convention: H in degrees [0, 360), S = (V - min) / V, V = max;
      S = 0 where V <= 0);
   e. saturation, p = 0.5: S *= U(0.5, 1.5);
   f. hue, p = 0.5: H += U(-18, 18) degrees, wrapped into [0, 360);
   g. HSV -> RGB;
   h. if mode == 0, contrast, p = 0.5: multiply by alpha ~ U(0.5, 1.5);
   i. random channel swap, p = 0.5: the channels in a uniformly random permutation of 3.
2. Random crop: up to 50 tries of new_w ~ U(0.8 w, w), new_h ~ U(0.8 h, h), rejected when
   new_h / new_w is outside [0.5, 2]; left ~ U(0, w - new_w), top ~ U(0, h - new_h); the crop is
   [int(top), int(top + new_h)) x [int(left), int(left + new_w)) (at least 1 px each way, for
   images a few pixels wide). After 50 rejections (which happens only to images whose own
   aspect h / w is far outside 0.5-2) the image is left uncropped.
   Every step of 1. is per pixel, so it commutes with the crop: the crop is applied first (less
   work), with the random draws still taken in the order above.
3. Resize to S x S without keeping the aspect ratio (bilinear, half-pixel centres, no antialias:
   OpenCV's INTER_LINEAR that mmcv uses).
4. Horizontal flip, p = 0.5.
5. Normalise: (x - 255 * mean) / (255 * std), ImageNet mean (0.485, 0.456, 0.406), std
   (0.229, 0.224, 0.225).

Test (`train=False`): 3. and 5. only.

Random draws come from a numpy Generator seeded per item from torch's global generator, so a run
seeded through torch is reproducible (and resumable: the harness checkpoints torch's RNG state);
DataLoader workers get torch's per-worker seeds. Images are decoded with PIL and converted to RGB
(grey-scale and palette files included). A missing or unreadable file raises `DataError` naming it.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ltml_bench.data.interface import IMAGENET_MEAN, IMAGENET_STD
from ltml_bench.errors import DataError

BRIGHTNESS_DELTA = 32.0
CONTRAST_RANGE = (0.5, 1.5)
SATURATION_RANGE = (0.5, 1.5)
HUE_DELTA = 18.0
MIN_CROP = 0.8
CROP_ASPECT = (0.5, 2.0)
FLIP_P = 0.5


def load_rgb(path: str | Path) -> np.ndarray:
    """An image file as float32 RGB [H, W, 3] in 0..255; `DataError` if missing or unreadable."""
    return decode_rgb(path).astype(np.float32)


def decode_rgb(path: str | Path) -> np.ndarray:
    """An image file as uint8 RGB [H, W, 3] (PIL, converted to RGB); `DataError` if missing or unreadable."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"), dtype=np.uint8)
    except FileNotFoundError:
        raise DataError(f"image {path} is listed but missing; restore the file or prepare the dataset again") from None
    except Image.DecompressionBombError as exc:
        raise DataError(bomb_message(path, exc)) from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataError(f"image {path} is unreadable ({type(exc).__name__}: {exc}); replace the file") from None


def bomb_message(path: str | Path, exc: Exception) -> str:
    """One line for an image over PIL's decompression-bomb limit, naming the limit."""
    from PIL import Image

    return (f"image {path} is refused as a possible decompression bomb ({exc}); PIL's limit is "
            f"{Image.MAX_IMAGE_PIXELS} pixels (warned above it, refused above twice it); replace or resize the file")


def verify_image(path: str | Path) -> str | None:
    """None if the image decodes, else the reason (a cheap reduced-size decode for JPEGs)."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            img.draft("RGB", (64, 64))
            img.load()
        return None
    except FileNotFoundError:
        return "missing"
    except Exception as exc:  # noqa: BLE001 - any decoder failure means unreadable
        return f"unreadable ({type(exc).__name__}: {exc})"


def rgb_to_hsv(img: np.ndarray) -> np.ndarray:
    """OpenCV's float RGB -> HSV: H in degrees [0, 360), S in [0, 1] for valid input, V = max."""
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    v = img.max(axis=-1)
    mn = img.min(axis=-1)
    diff = v - mn
    positive = v > 0
    s = np.where(positive, diff / np.where(positive, v, 1.0), 0.0)
    safe = np.where(diff > 0, diff, 1.0)
    h = np.where(v == r, 60.0 * (g - b) / safe, np.where(v == g, 120.0 + 60.0 * (b - r) / safe, 240.0 + 60.0 * (r - g) / safe))
    h = np.where(diff > 0, h, 0.0)
    h = np.where(h < 0, h + 360.0, h)
    return np.stack([h, s, v], axis=-1).astype(np.float32)


def hsv_to_rgb(hsv: np.ndarray) -> np.ndarray:
    """Inverse of `rgb_to_hsv` (OpenCV's float HSV -> RGB)."""
    h, s, v = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    h6 = (h % 360.0) / 60.0
    sector = np.floor(h6).astype(np.int64) % 6
    f = h6 - np.floor(h6)
    p = v * (1 - s)
    q = v * (1 - s * f)
    t = v * (1 - s * (1 - f))
    choices_r = [v, q, p, p, t, v]
    choices_g = [t, v, v, q, p, p]
    choices_b = [p, p, t, v, v, q]
    r = np.choose(sector, choices_r)
    g = np.choose(sector, choices_g)
    b = np.choose(sector, choices_b)
    return np.stack([r, g, b], axis=-1).astype(np.float32)


def photometric_params(rng: np.random.Generator) -> dict[str, Any]:
    """The random draws of step 1, in the DB code's order."""
    p: dict[str, Any] = {}
    if rng.integers(2):
        p["brightness"] = rng.uniform(-BRIGHTNESS_DELTA, BRIGHTNESS_DELTA)
    p["mode"] = int(rng.integers(2))
    if p["mode"] == 1 and rng.integers(2):
        p["contrast"] = rng.uniform(*CONTRAST_RANGE)
    if rng.integers(2):
        p["saturation"] = rng.uniform(*SATURATION_RANGE)
    if rng.integers(2):
        p["hue"] = rng.uniform(-HUE_DELTA, HUE_DELTA)
    if p["mode"] == 0 and rng.integers(2):
        p["contrast"] = rng.uniform(*CONTRAST_RANGE)
    if rng.integers(2):
        p["swap"] = rng.permutation(3)
    return p


def apply_photometric(img: np.ndarray, p: dict[str, Any]) -> np.ndarray:
    img = img.astype(np.float32, copy=True)
    if "brightness" in p:
        img += np.float32(p["brightness"])
    if p["mode"] == 1 and "contrast" in p:
        img *= np.float32(p["contrast"])
    if "saturation" in p or "hue" in p:
        hsv = rgb_to_hsv(img)
        if "saturation" in p:
            hsv[..., 1] *= np.float32(p["saturation"])
        if "hue" in p:
            hue = hsv[..., 0] + np.float32(p["hue"])
            hue = np.where(hue >= 360.0, hue - 360.0, hue)
            hsv[..., 0] = np.where(hue < 0.0, hue + 360.0, hue)
        img = hsv_to_rgb(hsv)
    if p["mode"] == 0 and "contrast" in p:
        img *= np.float32(p["contrast"])
    if "swap" in p:
        img = img[..., p["swap"]]
    return img


def crop_box(h: int, w: int, rng: np.random.Generator) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the random crop of step 2, or None (no crop)."""
    for _ in range(50):
        new_w = rng.uniform(MIN_CROP * w, w)
        new_h = rng.uniform(MIN_CROP * h, h)
        if not CROP_ASPECT[0] <= new_h / new_w <= CROP_ASPECT[1]:
            continue
        left = rng.uniform(0, w - new_w)
        top = rng.uniform(0, h - new_h)
        # at least one pixel each way (only matters for images a few pixels wide)
        return int(top), max(int(top + new_h), int(top) + 1), int(left), max(int(left + new_w), int(left) + 1)
    return None


def resize(img: np.ndarray, size: int) -> Any:
    """float [H, W, 3] -> float tensor [3, size, size] (bilinear, half-pixel centres, no antialias)."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).unsqueeze(0)
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=False)
    return x[0]


def train_transform(img: np.ndarray, size: int, rng: np.random.Generator) -> Any:
    params = photometric_params(rng)
    h, w = img.shape[:2]
    box = crop_box(h, w, rng)
    if box is not None:
        top, bottom, left, right = box
        img = img[top:bottom, left:right]
    x = resize(apply_photometric(img, params), size)
    if rng.random() < FLIP_P:
        x = x.flip(-1)
    return x


class ImageListDataset:
    """Map-style dataset over image files: `dataset[i] -> (image [3, S, S], target [C])`."""

    def __init__(
        self,
        paths: Sequence[str | Path],
        labels: np.ndarray,
        train: bool,
        image_size: int = 224,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
    ) -> None:
        import torch

        if len(paths) != len(labels):
            raise ValueError(f"{len(paths)} paths but {len(labels)} label rows")
        if image_size < 1:
            raise DataError(f"image_size={image_size}: must be >= 1")
        self.paths = [str(p) for p in paths]
        self.targets = torch.as_tensor(np.asarray(labels), dtype=torch.float32)
        self.train = bool(train)
        self.image_size = int(image_size)
        self.mean = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1) * 255.0
        self.std = torch.tensor(std, dtype=torch.float32).view(3, 1, 1) * 255.0

    def __len__(self) -> int:
        return len(self.paths)

    def eval_view(self) -> "ImageListDataset":
        """The same images with the test transform (resize only), e.g. for a validation split carved from training."""
        view = copy.copy(self)
        view.train = False
        return view

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        import torch

        img = load_rgb(self.paths[index])
        if self.train:
            seed = int(torch.randint(0, 2**62, (1,)).item())
            x = train_transform(img, self.image_size, np.random.default_rng(seed))
        else:
            x = resize(img, self.image_size)
        x = (x - self.mean) / self.std
        return x.contiguous(), self.targets[index]
