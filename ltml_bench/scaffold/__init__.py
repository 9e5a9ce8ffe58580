"""Plugin scaffolds: `ltml-bench new method NAME` / `new dataset NAME` write an installable package.

`write_plugin(kind, name, out)` fills the templates in `templates/` (package data): a
`pyproject.toml` with the entry point, the module (a documented skeleton that already runs: BCE
for a method, generated long-tailed stripes for a dataset), a test that runs the project's
registry-wide checks (`ltml_bench.registry.check_method_spec` / `check_dataset_spec`) and a
README. The package installs with `pip install -e OUT` and runs without edits.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path
from string import Template

from ltml_bench.errors import UserError

TEMPLATES = Path(__file__).resolve().parent / "templates"
KINDS = ("method", "dataset")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def plugin_files(kind: str, name: str) -> dict[str, str]:
    """{relative path: text} of the package for the `kind` plugin `name`."""
    if kind not in KINDS:
        raise UserError(f"new {kind!r}: choose 'method' or 'dataset'")
    if not NAME.match(name) or keyword.iskeyword(name):
        raise UserError(f"new {kind} {name!r}: the name must be lowercase letters, digits and '_', starting with a letter (e.g. my_{kind})")
    module = f"ltml_bench_{name}"
    dist = module.replace("_", "-")
    run_example = (f"ltml-bench run --method {name} --epochs 1" if kind == "method"
                   else f"ltml-bench run --dataset {name} --method erm")
    values = {"name": name, "kind": kind, "module": module, "dist": dist, "title": name.replace("_", " ").title(),
              "run_example": run_example}

    def fill(template: str) -> str:
        return Template((TEMPLATES / template).read_text()).substitute(values)

    return {
        "pyproject.toml": fill("pyproject.toml.tmpl"),
        "README.md": fill("README.md.tmpl"),
        f"{module}/__init__.py": fill(f"{kind}_module.py.tmpl"),
        f"tests/test_{name}.py": fill(f"{kind}_test.py.tmpl"),
    }


def write_plugin(kind: str, name: str, out: str | Path | None = None) -> list[Path]:
    """Write the package into `out` (default `./ltml-bench-NAME`); refuses a non-empty folder and a
    name already taken by a built-in or installed plugin. Returns the files written."""
    from ltml_bench.registry import DATASETS, METHODS

    files = plugin_files(kind, name)
    registry = METHODS if kind == "method" else DATASETS
    if name in registry.names():
        raise UserError(f"new {kind} {name!r}: a {kind} of that name exists already ({registry.origin(name)}); choose another name")
    target = Path(out) if out is not None else Path(f"ltml-bench-{name.replace('_', '-')}")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UserError(f"--out {str(target)!r} exists and is not an empty folder; give a new folder")
    written = []
    try:
        for relative, text in files.items():
            path = target / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            written.append(path)
    except OSError as exc:
        raise UserError(f"--out {str(target)!r}: cannot write there ({exc.strerror or exc}); choose a writable folder") from exc
    return written
