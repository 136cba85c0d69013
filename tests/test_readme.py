"""The README's layout is the map of the package: it names every module under src/dcgan and nothing that is gone."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "src/dcgan/"


def layout_paths(readme: str) -> set[str]:
    """The paths of the README's Layout block, whose entries are indented two spaces per folder level."""
    block = readme.split("## Layout", 1)[1].split("```", 2)[1]
    stack: list[str] = []
    paths = set()
    for line in block.splitlines():
        if not line.strip():
            continue
        depth = (len(line) - len(line.lstrip())) // 2
        stack = [*stack[:depth], line.split()[0]]
        paths.add("".join(stack))
    return paths


def package_modules() -> set[str]:
    """Every module and sub-package of src/dcgan, a package's __init__.py named by its folder (the layout may
    give either line); __main__.py is only `python -m`."""
    found = set()
    for path in (ROOT / PACKAGE).rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if path.name == "__main__.py":
            continue
        if path.name == "__init__.py":
            relative = relative.removesuffix("__init__.py")
        found.add(relative)
    return found


def test_layout_block_is_read_as_a_tree():
    readme = "## Layout\n\n```\nsrc/dcgan/\n  a.py     one\n  sub/     two\n    b.py   three\nweb/\n```\n"
    assert layout_paths(readme) == {"src/dcgan/", "src/dcgan/a.py", "src/dcgan/sub/", "src/dcgan/sub/b.py", "web/"}


def test_readme_layout_matches_the_package():
    paths = layout_paths((ROOT / "README.md").read_text())
    listed = {path.removesuffix("__init__.py") for path in paths if path.startswith(PACKAGE)}
    modules = package_modules()
    assert sorted(modules - listed) == [], "modules missing from the README's layout"
    assert sorted(listed - modules) == [], "the README's layout names modules that do not exist"
