"""`python -m ltml_bench ...` (also the form torchrun uses)."""

from ltml_bench.cli.app import main

main()
