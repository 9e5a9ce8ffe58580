"""The command line (`ltml-bench`): one module per command; `main` turns errors into one line."""

from ltml_bench.cli.app import main

__all__ = ["main"]
