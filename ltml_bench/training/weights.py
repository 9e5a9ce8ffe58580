"""Backbone weight files: safetensors I/O, sha256 digests and the weights shipped in the package.

A weights file holds a backbone's `state_dict` (no classifier) as safetensors: tensors only,
nothing in it can execute code. `save_backbone` writes one atomically; `load_backbone` reads it
with `safetensors.torch.load_file` into a timm model built without classifier.

Shipped weights live in `ltml_bench/weights/` (package data) and are named in a run's
configuration as `builtin:NAME` (e.g. `builtin:synth_world-test_resnet`), so the run key does not
depend on where the package is installed. Each is pinned by the sha256 in `SHIPPED`: a file whose
digest differs is refused, never loaded. Its provenance JSON (`NAME.json` beside it) names the
command that regenerated it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ltml_bench.data.splits import sha256_of
from ltml_bench.errors import UserError

BUILTIN_PREFIX = "builtin:"
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"


@dataclass(frozen=True)
class ShippedWeights:
    name: str
    backbone: str  # the timm model the file fits
    sha256: str

    @property
    def path(self) -> Path:
        return WEIGHTS_DIR / f"{self.name}.safetensors"

    @property
    def provenance(self) -> Path:
        return WEIGHTS_DIR / f"{self.name}.json"


# the default synth_lt backbone, pretrained on synth_world (command in its provenance file)
SHIPPED: dict[str, ShippedWeights] = {
    w.name: w
    for w in (
        ShippedWeights("synth_world-test_resnet", "test_resnet", "d9a6acf8864e139fe73b7ee3ed7c7ac815e0d380f4c09e665a3f4b5d9faf142a"),
    )
}


def file_sha256(path: Path) -> str:
    """The file's sha256 (hex), read in blocks: the same digest as the published split files'."""
    return sha256_of(path)


def shipped(reference: str) -> ShippedWeights | None:
    """The shipped weights `builtin:NAME` names, None for a plain path; unknown names are an error."""
    if not reference.startswith(BUILTIN_PREFIX):
        return None
    name = reference[len(BUILTIN_PREFIX):]
    if name not in SHIPPED:
        raise UserError(f"weights_file={reference!r}: no shipped weights of that name; shipped: {', '.join(BUILTIN_PREFIX + n for n in SHIPPED)}")
    return SHIPPED[name]


def resolve_weights(reference: str) -> tuple[Path, str]:
    """(path, sha256) of a weights file, `builtin:NAME` or a path; a shipped file must match its pin."""
    entry = shipped(reference)
    path = entry.path if entry is not None else Path(reference)
    try:
        found = path.is_file()
    except OSError as exc:  # ENAMETOOLONG and kin are raised, not answered False
        raise UserError(f"weights_file {reference[:60]!r}...: cannot be opened ({exc.strerror}, {len(reference)} characters); "
                        f"give a shorter path to the file") from None
    if not found:
        if entry is not None:
            raise UserError(f"weights_file={reference!r}: the shipped file {path} is missing from this installation; reinstall ltml-bench")
        raise UserError(f"weights_file {reference!r} does not exist; give the path of a .safetensors (or timm/torchvision .pth) checkpoint")
    digest = file_sha256(path)
    if entry is not None and digest != entry.sha256:
        raise UserError(f"weights_file={reference!r}: {path} has sha256 {digest[:12]}..., not the pinned {entry.sha256[:12]}...; "
                        f"the file is damaged or replaced: reinstall ltml-bench")
    return path, digest


def save_backbone(state: dict, path: Path) -> str:
    """Write a backbone state_dict as safetensors (atomically); returns the file's sha256."""
    from safetensors.torch import save

    from ltml_bench.storage.files import atomic_write_bytes

    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    atomic_write_bytes(path, save(tensors, metadata={"format": "pt"}))
    return file_sha256(path)


def load_state(path: Path) -> dict:
    """A safetensors file's tensors (no pickle)."""
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except Exception as exc:
        raise UserError(f"weights file {path} is not a readable safetensors file ({type(exc).__name__}); regenerate it") from exc
