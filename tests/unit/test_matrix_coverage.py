"""Every fault-matrix row in docs/ has a test named after it, and every such test has a row.

A reader checks that a row is covered by grepping for `test_H2_`; this test does the grep. The
rows come from the repo's own documents: every `## Fault matrix...` section of every docs/*.md
(docs/reliability.md holds the first one and must exist). A row added without a test, a test
renamed away from its row, or a `test_<ID>_` whose row was dropped fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
DOCS = ROOT / "docs"
MAIN_MATRIX = "reliability.md"

_ID = r"[A-Z]{1,3}\d+"
_ROW = re.compile(rf"^\|\s*({_ID})\s*\|", re.MULTILINE)
_HEADING = re.compile(r"^#{1,2} ", re.MULTILINE)
_TEST = re.compile(rf"^\s*(?:async\s+)?def\s+test_({_ID})_\w*\s*\(", re.MULTILINE)


def matrix_rows(text: str) -> list[str]:
    """The row ids of the tables under every heading that starts with "## Fault matrix", in order.

    A section runs to the next heading of level 1 or 2; tables elsewhere in the text do not count.
    """
    rows: list[str] = []
    for match in re.finditer(r"^## Fault matrix.*$", text, re.MULTILINE):
        following = _HEADING.search(text, match.end())
        section = text[match.end() : following.start() if following else len(text)]
        rows += _ROW.findall(section)
    return list(dict.fromkeys(rows))


def documented_rows(docs: Path) -> dict[str, str]:
    """Row id -> the docs file whose fault matrix names it."""
    rows: dict[str, str] = {}
    for path in sorted(docs.glob("*.md")):
        for row in matrix_rows(path.read_text(encoding="utf-8")):
            rows.setdefault(row, path.name)
    return rows


def rows_with_tests(tests: Path) -> dict[str, list[str]]:
    """Row id -> the files under `tests` with a test function named `test_<ID>_...`."""
    covered: dict[str, list[str]] = {}
    for path in sorted(tests.rglob("*.py")):
        for row in _TEST.findall(path.read_text(encoding="utf-8")):
            covered.setdefault(row, []).append(str(path.relative_to(tests)))
    return covered


def coverage_problems(docs: Path, tests: Path) -> list[str]:
    """Everything wrong between the matrices in `docs` and the tests in `tests`; [] when none."""
    main = docs / MAIN_MATRIX
    if not main.is_file():
        return [f"{main} is missing: the fault matrix lives there"]
    problems: list[str] = []
    if not matrix_rows(main.read_text(encoding="utf-8")):
        problems.append(f"{main} has no '## Fault matrix' table rows")
    rows = documented_rows(docs)
    covered = rows_with_tests(tests)
    for row, where in rows.items():
        if row not in covered:
            problems.append(f"{where}: row {row} has no test named test_{row}_...")
    for row, files in covered.items():
        if row not in rows:
            problems.append(f"test_{row}_... in {', '.join(files)} names a row no matrix has")
    return problems


def test_every_matrix_row_has_a_test_and_every_row_test_a_row() -> None:
    assert coverage_problems(DOCS, TESTS) == []


def test_the_repo_matrix_has_the_rows_the_tests_rely_on() -> None:
    # A truncated or reformatted table must not pass as an empty one.
    rows = documented_rows(DOCS)
    assert {"N1", "H2", "P5", "C1", "S4", "K1"} <= set(rows)
    assert rows["N1"] == MAIN_MATRIX


# --- the checker itself can fail ------------------------------------------------------------

_MATRIX = "# R\n\n## Fault matrix\n\n| ID | Fault | Expected |\n|---|---|---|\n"


def _write_test(folder: Path, *names: str) -> None:
    # Built by concatenation so this file holds no `def test_<ID>_` line of its own.
    body = "".join(f"def {'test_'}{name}():\n    pass\n\n" for name in names)
    (folder / "test_fake.py").write_text(body, encoding="utf-8")


def _folders(tmp_path: Path) -> tuple[Path, Path]:
    docs, tests = tmp_path / "docs", tmp_path / "tests"
    docs.mkdir()
    (tests / "unit").mkdir(parents=True)
    return docs, tests


def test_a_row_without_a_test_fails(tmp_path: Path) -> None:
    docs, tests = _folders(tmp_path)
    (docs / MAIN_MATRIX).write_text(_MATRIX + "| N1 | refused | backoff |\n| Q7 | new | x |\n")
    _write_test(tests / "unit", "N1_refused", "N10_is_not_N1")
    problems = coverage_problems(docs, tests)
    assert any("row Q7 has no test" in p for p in problems)
    assert any("test_N10_" in p and "no matrix" in p for p in problems)
    assert not any("row N1 " in p for p in problems)


def test_rows_of_a_second_matrix_in_another_file_count(tmp_path: Path) -> None:
    docs, tests = _folders(tmp_path)
    (docs / MAIN_MATRIX).write_text(_MATRIX + "| N1 | refused | backoff |\n")
    (docs / "later.md").write_text(
        "# Later\n\n| X1 | not a matrix row |\n\n## Fault matrix, round two\n\n"
        "| ID | Fault |\n|---|---|\n| R2 | two rows for one id |\n\n## After\n| X2 | no |\n"
    )
    _write_test(tests / "unit", "N1_refused")
    assert set(documented_rows(docs)) == {"N1", "R2"}
    assert coverage_problems(docs, tests) == ["later.md: row R2 has no test named test_R2_..."]
    _write_test(tests / "unit", "N1_refused", "R2_the_row_that_moved_wins")
    assert coverage_problems(docs, tests) == []


def test_a_missing_or_empty_main_matrix_fails(tmp_path: Path) -> None:
    docs, tests = _folders(tmp_path)
    _write_test(tests / "unit", "N1_refused")
    assert "missing" in coverage_problems(docs, tests)[0]
    (docs / MAIN_MATRIX).write_text("# R\n\n## Fault matrix\n\nNo table yet.\n")
    assert "no '## Fault matrix' table rows" in coverage_problems(docs, tests)[0]


def test_tests_are_found_as_functions_only(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    (tests / "deep" / "er").mkdir(parents=True)
    (tests / "deep" / "er" / "test_x.py").write_text(
        "class TestRows:\n    async def test_" + "C1_in_a_class(self):\n        pass\n"
        "def helper_" + "Q1_x():\n    pass\n"
        "def test_" + "n1_lowercase():\n    pass\n"
        "# def test_" + "Z1_commented_out():\n"
    )
    assert set(rows_with_tests(tests)) == {"C1"}
