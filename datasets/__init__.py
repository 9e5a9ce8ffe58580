"""Built-in dataset builders, importable as `ltml_bench.datasets.<name>`.

Each module registers one `DatasetSpec` in `ltml_bench.registry.DATASETS`.
"""
