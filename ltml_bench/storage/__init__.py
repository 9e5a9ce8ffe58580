"""Storage utilities: atomic writes, file locks, the cache folder and stable hashes."""
