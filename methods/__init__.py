"""Built-in methods, importable as `ltml_bench.methods.<name>`, one module each.

Each module opens with the method's docstring (paper, formula, defaults, open choices, how it
differs from the reference code) and registers one `MethodSpec` in
`ltml_bench.registry.METHODS`. The torch code a method supplies lives where it can be used
without the harness: losses in `ltml_bench.losses`, heads in `ltml_bench.heads`.
"""
