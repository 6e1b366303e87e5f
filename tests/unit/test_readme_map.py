"""The README's module map names every package and module of mjdash, and nothing that is gone.

The map is the code block under "## How it is built": one `mjdash/...` path a line. A module
added without a line, or a line left behind by a move, fails here (docs/README.md lists the
documents; this keeps the README's map in step with the folders).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_PATH = re.compile(r"^(mjdash/\S*)", re.MULTILINE)


def map_paths(readme: str) -> list[str]:
    """The paths at the start of the lines of the first code block under "## How it is built"."""
    _, found, rest = readme.partition("## How it is built")
    assert found, "the README has no '## How it is built' section"
    _, fence, rest = rest.partition("```")
    block, closed, _ = rest.partition("```")
    assert fence and closed, "no code block in '## How it is built'"
    return _PATH.findall(block)


def source_paths(root: Path) -> set[str]:
    """Every package (as `mjdash/x/`) and module under root/mjdash, `__init__.py` left out."""
    package = root / "mjdash"
    found = {
        f"mjdash/{p.relative_to(package).as_posix()}/" for p in package.iterdir() if p.is_dir()
    }
    found.discard("mjdash/__pycache__/")
    for path in package.rglob("*"):
        if "__pycache__" in path.parts or path.name == "__init__.py" or path.is_dir():
            continue
        if path.suffix in (".py", ".tcss"):
            found.add(path.relative_to(root).as_posix())
    return found


def test_the_module_map_matches_the_folders() -> None:
    listed = map_paths((ROOT / "README.md").read_text(encoding="utf-8"))
    actual = source_paths(ROOT)
    assert sorted(actual - set(listed)) == [], "modules missing from the README's module map"
    assert sorted(set(listed) - actual) == [], "README's module map names files that are gone"
    assert len(listed) == len(set(listed)), "a path is listed twice"


def test_the_check_sees_a_missing_and_a_stale_line(tmp_path: Path) -> None:
    (tmp_path / "mjdash" / "net").mkdir(parents=True)
    (tmp_path / "mjdash" / "net" / "__init__.py").write_text("")
    (tmp_path / "mjdash" / "net" / "client.py").write_text("")
    (tmp_path / "mjdash" / "cli.py").write_text("")
    readme = (
        "# x\n\n## How it is built\n\n```\n"
        "mjdash/cli.py   the command\nmjdash/net/old.py  gone\n```\n"
    )
    listed = set(map_paths(readme))
    actual = source_paths(tmp_path)
    assert actual - listed == {"mjdash/net/", "mjdash/net/client.py"}
    assert listed - actual == {"mjdash/net/old.py"}
