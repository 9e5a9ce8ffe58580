"""Rendering primitives of the generated datasets (synth_lt, synth_world): shapes, colours, textures.

Every object is a binary shape mask on a `size x size` box (object-local coordinates: row `ly`,
column `lx`, centre `c = (size - 1) / 2`, `dy = ly - c`, `dx = lx - c`, `r = sqrt(dx^2 + dy^2)`,
`half = size / 2`, stroke `w = max(1, size / 6)`), painted in a colour (optionally modulated by a
texture) with opacity `alpha` over what is already there.

Shapes 0-4 are synth_lt's five (`SYNTH_LT_SHAPES`); synth_world uses all twelve:

    block     the whole box                   disc      r <= half
    ring      half / 2 <= r <= half           diamond   |dx| + |dy| <= half
    plus      |dx| <= w or |dy| <= w          frame     max(|dx|, |dy|) >= half - w
    cross     |dx - dy| <= w or |dx + dy| <= w  triangle  |dx| <= (ly + 1) / 2 (apex up)
    bars      rows with (ly // 2) even        columns   columns with (lx // 2) even
                                              checker   ((ly // 3) + (lx // 3)) even
                                              tee       ly < 2w, or |dx| <= w

Colour families 0-3 are synth_lt's four; synth_world adds four. Textures multiply the colour by
a per-pixel factor inside the mask: solid (1), stripes (0.55 on odd 2-pixel diagonals), dots
(0.5 on a 3-pixel lattice), gradient (0.55 -> 1 from left to right). synth_lt's objects are solid.

`object_masks` draws the masks of many objects at once (numpy broadcasting over an image batch);
`shape_mask` is the one-object form synth_lt's generator calls, computed by the same code.
"""

from __future__ import annotations

import numpy as np

SHAPES = ("block", "ring", "plus", "cross", "bars", "disc", "diamond", "frame", "triangle", "columns", "checker", "tee")
SYNTH_LT_SHAPES = SHAPES[:5]
FAMILIES = ("red", "green", "blue", "yellow", "magenta", "cyan", "orange", "purple")
FAMILY_RGB = np.array([
    [0.85, 0.2, 0.15], [0.2, 0.75, 0.25], [0.2, 0.35, 0.9], [0.9, 0.8, 0.2],  # synth_lt's four
    [0.85, 0.25, 0.8], [0.2, 0.8, 0.85], [0.95, 0.55, 0.1], [0.5, 0.2, 0.7],
])
TEXTURES = ("solid", "stripes", "dots", "gradient")


def _local_grids(size: np.ndarray, y0: np.ndarray, x0: np.ndarray, image_size: int) -> tuple[np.ndarray, ...]:
    """Object-local rows / columns [n, S, S] of every image pixel, and the in-box mask."""
    grid = np.arange(image_size, dtype=np.float32)
    ly = grid[None, :, None] - y0.astype(np.float32)[:, None, None]
    lx = grid[None, None, :] - x0.astype(np.float32)[:, None, None]
    sz = size.astype(np.float32)[:, None, None]
    inside = (ly >= 0) & (ly < sz) & (lx >= 0) & (lx < sz)
    return ly, lx, sz, inside


def object_masks(shape: np.ndarray, size: np.ndarray, y0: np.ndarray, x0: np.ndarray, image_size: int) -> np.ndarray:
    """Masks [n, S, S] (bool) of n objects: shape index, box size and top-left corner per object."""
    shape = np.asarray(shape)
    ly, lx, sz, inside = _local_grids(np.asarray(size), np.asarray(y0), np.asarray(x0), image_size)
    c = (sz - 1) / 2.0
    dy, dx = ly - c, lx - c
    r = np.sqrt(dx**2 + dy**2)
    half = sz / 2.0
    w = np.maximum(1.0, sz / 6)
    lyi, lxi = np.floor(ly).astype(np.int64), np.floor(lx).astype(np.int64)
    forms = {
        "block": np.ones_like(inside),
        "ring": (r <= half) & (r >= half * 0.5),
        "plus": (np.abs(dx) <= w) | (np.abs(dy) <= w),
        "cross": (np.abs(dx - dy) <= w) | (np.abs(dx + dy) <= w),
        "bars": (lyi // 2) % 2 == 0,
        "disc": r <= half,
        "diamond": np.abs(dx) + np.abs(dy) <= half,
        "frame": np.maximum(np.abs(dx), np.abs(dy)) >= half - w,
        "triangle": np.abs(dx) <= (ly + 1) / 2.0,
        "columns": (lxi // 2) % 2 == 0,
        "checker": ((lyi // 3) + (lxi // 3)) % 2 == 0,
        "tee": (ly < 2 * w) | (np.abs(dx) <= w),
    }
    out = np.zeros_like(inside)
    for index, name in enumerate(SHAPES):
        rows = shape == index
        if rows.any():
            out[rows] = forms[name][rows]
    return out & inside


def shape_mask(shape: int, size: int) -> np.ndarray:
    """The [size, size] mask of one shape (synth_lt's generator draws objects one at a time)."""
    one = np.array([0])
    return object_masks(np.array([shape]), np.array([size]), one, one, size)[0]


def texture_factor(texture: np.ndarray, x0: np.ndarray, y0: np.ndarray, image_size: int) -> np.ndarray:
    """Per-pixel colour factor [n, S, S] of n objects' textures (object-local, 1 outside patterns)."""
    texture = np.asarray(texture)
    grid = np.arange(image_size)
    ly = grid[None, :, None] - np.asarray(y0)[:, None, None]
    lx = grid[None, None, :] - np.asarray(x0)[:, None, None]
    factor = np.ones((len(texture), image_size, image_size), dtype=np.float32)
    stripes = np.where(((ly + lx) // 2) % 2 == 1, 0.55, 1.0)
    dots = np.where((ly % 3 == 1) & (lx % 3 == 1), 0.5, 1.0)
    gradient = np.clip(0.55 + 0.03 * lx, 0.55, 1.0) * np.ones_like(ly)
    for index, pattern in ((1, stripes), (2, dots), (3, gradient)):
        rows = texture == index
        if rows.any():
            factor[rows] = pattern[rows]
    return factor


def paint(images: np.ndarray, masks: np.ndarray, colours: np.ndarray, alpha: np.ndarray, factor: np.ndarray | None = None) -> None:
    """In place: images [n, 3, S, S] float take colour [n, 3] (times `factor` [n, S, S]) with
    opacity alpha [n] where masks [n, S, S] is set."""
    paint_rgb = colours[:, :, None, None] * (factor[:, None] if factor is not None else 1.0)
    a = alpha[:, None, None, None]
    blended = (1 - a) * images + a * paint_rgb
    np.copyto(images, blended.astype(images.dtype), where=masks[:, None])
