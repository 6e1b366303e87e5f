"""Every row of RELIABILITY.md's fault matrix has a test named after it.

A reader checks the matrix is covered by grepping for `test_H2_`; this test does the grep, so a
row added to the matrix without a test (or a test renamed away from its row) fails here. The rows
come from RELIABILITY.md when it is at hand (the shared specs, or a copy in the repo), else from
the list below, kept in step with the document.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
DOCUMENTS = [
    Path(os.environ.get("MJDASH_RELIABILITY_MD", "/work/shared/RELIABILITY.md")),
    ROOT / "RELIABILITY.md",
    ROOT / "docs" / "RELIABILITY.md",
]
KNOWN_ROWS = (
    [f"N{n}" for n in range(1, 7)]
    + [f"H{n}" for n in range(1, 7)]
    + [f"P{n}" for n in range(1, 7)]
    + [f"C{n}" for n in range(1, 4)]
    + [f"S{n}" for n in range(1, 6)]
    + ["K1"]
)
_ROW = re.compile(r"^\|\s*([A-Z]\d+)\s*\|", re.MULTILINE)
_TEST = re.compile(r"^\s*(?:async\s+)?def\s+test_([A-Z]\d+)_\w+\s*\(", re.MULTILINE)


def matrix_rows(text: str) -> list[str]:
    """The row ids of the fault matrix table in a RELIABILITY.md text, in order."""
    _, found, rest = text.partition("## Fault matrix")
    return list(dict.fromkeys(_ROW.findall(rest if found else text)))


def rows_with_tests(folder: Path) -> dict[str, list[str]]:
    """Row id -> the test files with a test named `test_<row>_...`."""
    covered: dict[str, list[str]] = {}
    for path in sorted(folder.rglob("test_*.py")):
        for row in _TEST.findall(path.read_text(encoding="utf-8")):
            covered.setdefault(row, []).append(str(path.relative_to(folder)))
    return covered


def the_matrix() -> list[str]:
    for document in DOCUMENTS:
        if document.is_file():
            rows = matrix_rows(document.read_text(encoding="utf-8"))
            assert rows, f"no fault matrix rows found in {document}"
            return rows
    return KNOWN_ROWS


def test_every_matrix_row_has_a_test_named_after_it() -> None:
    rows = the_matrix()
    covered = rows_with_tests(TESTS)
    missing = [row for row in rows if row not in covered]
    assert not missing, f"fault matrix rows without a test_<ROW>_... test: {missing}"


def test_the_known_rows_match_the_document() -> None:
    # The fallback list must not drift from the document while the document is here to compare.
    rows = the_matrix()
    assert set(KNOWN_ROWS) <= set(rows)
    assert len(rows) >= len(KNOWN_ROWS)


def test_the_checker_finds_rows_and_catches_a_missing_one(tmp_path: Path) -> None:
    document = (
        "# x\n\n| # | Fault | Expected |\n|---|---|---|\n"
        "| N1 | refused | backoff |\n| Z9 | new | something |\n"
    )
    assert matrix_rows(document) == ["N1", "Z9"]
    assert matrix_rows("## Rules\n| A1 | no |\n## Fault matrix\n| B2 | yes |\n") == ["B2"]
    (tmp_path / "test_a.py").write_text(
        "def test_N1_refused():\n    pass\n\nasync def test_Z9_new_thing(x):\n    pass\n"
        "def test_N10_is_not_N1():\n    pass\ndef helper_Q1_x():\n    pass\n"
    )
    (tmp_path / "test_b.py").write_text("def test_n1_lowercase():\n    pass\n")
    covered = rows_with_tests(tmp_path)
    assert set(covered) == {"N1", "Z9", "N10"}
    assert [row for row in ["N1", "Q1", "Z9"] if row not in covered] == ["Q1"]


HARDENING = ROOT / "docs" / "hardening.md"
SECOND_ROUND = "## Fault matrix (second round)"


def test_every_second_round_row_has_a_test_named_after_it() -> None:
    # docs/hardening.md: the rows the second hardening round added (issue 13), A1, A2, ...
    text = HARDENING.read_text(encoding="utf-8")
    _, found, rest = text.partition(SECOND_ROUND)
    assert found, f"no {SECOND_ROUND!r} heading in {HARDENING}"
    rows = list(dict.fromkeys(_ROW.findall(rest)))
    assert rows and all(row.startswith("A") for row in rows), rows
    covered = rows_with_tests(TESTS)
    missing = [row for row in rows if row not in covered]
    assert not missing, f"second-round rows without a test_<ROW>_... test: {missing}"
    for name in re.findall(r"`(test_A\d+_\w+)`", rest):  # and the tests the rows name exist
        assert any(
            re.search(rf"def {name}\(", path.read_text(encoding="utf-8"))
            for path in TESTS.rglob("test_*.py")
        ), f"{name} is named in {HARDENING.name} but not defined"
