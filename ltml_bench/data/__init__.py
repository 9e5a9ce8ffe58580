"""Data: the dataset interface every builder returns, and what builders use to make one.

The interface (`DatasetBundle`, `Split`, `TensorImages`, `load_batch`, `build_bundle`) is imported from here;
the submodules hold the Pareto long-tail builder (`pareto`), published split files (`splits`),
image files and their augmentation (`images`), the decode-once image store (`imagestore`),
real-data support (`realdata`) and the validation split (`validation`).
"""

from ltml_bench.data.interface import IMAGENET_MEAN, IMAGENET_STD, DatasetBundle, Split, TensorImages, build_bundle, load_batch
from ltml_bench.storage.cache import cache_dir, cached_arrays, stable_hash

__all__ = [
    "IMAGENET_MEAN", "IMAGENET_STD", "DatasetBundle", "Split", "TensorImages", "build_bundle", "load_batch",
    "cache_dir", "cached_arrays", "stable_hash",
]
