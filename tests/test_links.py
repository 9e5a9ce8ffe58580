"""Docs that resolve: every relative link (and its #anchor) in the repository's markdown, every
"FILE.md section N" reference in markdown and docstrings, and every `.md` path a docstring names
point at something that exists in this repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".git", ".pytest_cache", "build", "dist", "node_modules", "__pycache__", ".venv", "venv"}
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|^\s*\[[^\]]+\]:\s*(\S+)", re.M)
SECTION = re.compile(
    r"(?:([\w./-]+\.md)[`\]\)]*\s+)?\bsections?\s+(\d+(?:\.\d+)*)((?:\s*(?:,|and|or)\s*\d+(?:\.\d+)*)*)", re.I)
MD_PATH = re.compile(r"(?<![\w/<{.-])((?:[\w-]+/)*[\w-]+\.md)\b")
GENERATED_NAMES = {"index.md"}  # pages `ltml-bench docs` writes into the folder it is given


def _files(suffix: str) -> list[Path]:
    return sorted(p for p in REPO.rglob(f"*{suffix}") if not SKIP_DIRS & set(p.relative_to(REPO).parts))


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", lambda m: "_" if m.group() == "_" else "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _headings(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return [m.group(1).strip() for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*$", text, flags=re.M)]


def anchors(path: Path) -> set[str]:
    found, seen = set(), {}
    for heading in _headings(path):
        base = slug(heading)
        count = seen.get(base, 0)
        found.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return found


def section_numbers(path: Path) -> set[str]:
    """Numbers of the numbered headings ("## 3. Splits" -> "3", "### 3.1 How ..." -> "3.1")."""
    return {m.group(1) for h in _headings(path) if (m := re.match(r"(\d+(?:\.\d+)*)\.?\s", h))}


def broken_links(path: Path) -> list[str]:
    problems = []
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)  # code blocks hold no links
    text = re.sub(r"`[^`\n]*`", "", text)
    for match in LINK.finditer(text):
        target = match.group(1) or match.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.exists():
            problems.append(f"{target}: no such file")
        elif not REPO in resolved.parents and resolved != REPO:
            problems.append(f"{target}: outside the repository")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{target}: no heading #{anchor} in {resolved.relative_to(REPO)}")
    return problems


def _resolve(name: str, source: Path) -> Path | None:
    for base in (REPO, source.parent, REPO / "docs"):
        if (base / name).is_file():
            return base / name
    return None


def broken_section_references(path: Path) -> list[str]:
    problems = []
    text = " ".join(path.read_text().split())  # a reference may break across lines
    for match in SECTION.finditer(text):
        name, first, more = match.group(1), match.group(2), match.group(3)
        numbers = [first, *re.findall(r"\d+(?:\.\d+)*", more or "")]
        if name:
            target = _resolve(name, path)
            if target is None:
                problems.append(f"'{match.group(0)}': {name} does not exist in the repository")
                continue
        elif path.suffix == ".md" and section_numbers(path):
            target = path  # "section 2" inside a numbered page means its own section
        else:
            problems.append(f"'{match.group(0)}': say which file (e.g. docs/protocol.md section {first})")
            continue
        missing = [n for n in numbers if n not in section_numbers(target)]
        if missing:
            problems.append(f"'{match.group(0)}': {target.relative_to(REPO)} has no section {', '.join(missing)}")
    return problems


def broken_md_paths(path: Path) -> list[str]:
    """`.md` files a docstring or comment names must exist (relative to the repository or the file)."""
    problems = []
    for match in MD_PATH.finditer(path.read_text()):
        name = match.group(1)
        if name in GENERATED_NAMES or _resolve(name, path) is not None:
            continue
        problems.append(f"{name}: no such file")
    return problems


MARKDOWN = _files(".md")
PYTHON = [p for p in _files(".py") if p.parts[len(REPO.parts)] in ("ltml_bench", "methods", "datasets", "tests", "examples")
          and p.name != "test_links.py"]  # this file's examples are broken on purpose


def test_the_walk_sees_the_documentation() -> None:
    names = {str(p.relative_to(REPO)) for p in MARKDOWN}
    assert {"README.md", "docs/protocol.md", "docs/architecture.md", "datasets/README.md", "docs/methods/hmt.md"} <= names


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: str(p.relative_to(REPO)))
def test_markdown_links_and_section_references_resolve(path: Path) -> None:
    problems = broken_links(path) + broken_section_references(path)
    assert not problems, f"{path.relative_to(REPO)}: " + "; ".join(problems)


@pytest.mark.parametrize("path", PYTHON, ids=lambda p: str(p.relative_to(REPO)))
def test_docstring_references_resolve(path: Path) -> None:
    problems = broken_section_references(path)
    if "tests" not in path.relative_to(REPO).parts:  # tests build .md names of generated files
        problems += broken_md_paths(path)
    assert not problems, f"{path.relative_to(REPO)}: " + "; ".join(problems)


def test_no_file_names_the_shared_protocol_notes() -> None:
    """The protocol lives in docs/protocol.md; nothing may point at a PROTOCOL.md outside the repository."""
    offenders = [str(p.relative_to(REPO)) for p in MARKDOWN + PYTHON if "PROTOCOL" + ".md" in p.read_text()]
    assert not offenders, offenders


def test_the_checker_catches_what_it_should(tmp_path: Path) -> None:
    page = REPO / "docs" / "protocol.md"
    assert "31-how-the-long-tailed-training-sets-are-drawn" in anchors(page)
    assert {"1", "2", "3", "3.1", "4", "5"} <= section_numbers(page)
    bad = tmp_path / "bad.md"
    bad.write_text("# T\n\n[a](nothere.md) [b](../README.md#no-such-heading) [c](https://example.org/x.md)\n"
                   "See docs/protocol.md section 9 and PROTOCOL.md section 3; also section 2.\n")
    links = broken_links(bad)
    assert len(links) == 2 and links[0] == "nothere.md: no such file" and "../README.md#no-such-heading" in links[1]
    refs = broken_section_references(bad)
    assert any("has no section 9" in p for p in refs)
    assert any("PROTOCOL.md does not exist" in p for p in refs)
    assert any("say which file" in p for p in refs)
    code = tmp_path / "mod.py"
    code.write_text('"""See docs/protocol.md\nsection 3.2 and datasets/NOPE.md."""\n')
    assert broken_section_references(code) == [] and broken_md_paths(code) == ["datasets/NOPE.md: no such file"]
