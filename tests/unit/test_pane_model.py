"""Model pieces of the long-lived pane (issue 16), tested without Textual: summary wording,
cell-aware cutting and wrapping, the `f` announcement, the `o` browser check."""

from __future__ import annotations

import webbrowser

import pytest

from mjdash.model.report import Counts
from mjdash.model.summary_text import counts_sentence, done_percent, outcome_phrase
from mjdash.model.view import SHOW_MODES, show_announcement
from mjdash.model.wrap import cell_width, cut, hanging_wrap, wrap
from mjdash.ui import browser
from mjdash.ui.cells import one_line

# --- the summary ----------------------------------------------------------------------------


def test_percent_is_done_over_total_failed_is_not_done() -> None:
    assert done_percent(0, 0) == 0
    assert done_percent(2, 4) == 50
    assert done_percent(0, 5) == 0  # five failed tasks: 0%, not 100%
    assert done_percent(199, 200) == 99  # rounded down: 100 only when all succeeded
    assert done_percent(3, 3) == 100


def test_a_stalled_task_gives_no_eta() -> None:
    running = dict(total=4, done=2, failed=0)
    assert outcome_phrase(**running, eta=0).text == "ETA any moment"
    stalled = outcome_phrase(**running, eta=0, stalled=1)
    assert stalled.text == "stalled: no ETA" and stalled.tone == "warning"
    assert outcome_phrase(**running, eta=200, stalled=1).text == "stalled: no ETA"
    assert outcome_phrase(**running, eta=None).text == "ETA —"
    assert outcome_phrase(**running, eta=125).text.startswith("ETA 2m")


def test_batch_complete_is_a_success_only_when_something_succeeded() -> None:
    assert outcome_phrase(total=3, done=3, failed=0) == outcome_phrase(total=3, done=3, failed=0)
    all_done = outcome_phrase(total=3, done=3, failed=0)
    assert all_done.text == "✔ batch complete" and all_done.tone == "success"
    mixed = outcome_phrase(total=3, done=2, failed=1)
    assert mixed.tone == "warning" and "1 did not succeed" in mixed.text
    none = outcome_phrase(total=3, done=0, failed=2, missing=1)
    assert none.tone == "error" and "nothing succeeded" in none.text
    assert outcome_phrase(total=0, done=0, failed=0).text == "no tasks in view"


def test_the_only_failed_view_never_says_batch_complete() -> None:
    phrase = outcome_phrase(total=2, done=0, failed=2, show="failed")
    assert "complete" not in phrase.text and phrase.text == "2 tasks failed"
    assert phrase.tone == "error"
    assert outcome_phrase(total=1, done=0, failed=1, show="failed").text == "1 task failed"


def test_counts_sentence_for_status_watch() -> None:
    counts = Counts(total=6, done=3, failed=1, modal=1, unpolled=1)
    assert counts_sentence(counts) == "6 tasks: 3 done, 1 failed, 1 MODAL, 1 not polled yet"
    assert counts_sentence(Counts(total=1, done=1)) == "1 task: 1 done"
    assert counts_sentence(Counts()) == "0 tasks"


# --- the `f` announcement -------------------------------------------------------------------


def test_show_announcement_reads_as_words() -> None:
    assert show_announcement("unfinished", 2, 18) == "Showing unfinished tasks (2 of 18)"
    assert show_announcement("failed", 0, 18) == "Showing failed tasks only (0 of 18)"
    assert show_announcement("all", 18, 18) == "Showing all 18 tasks"
    assert show_announcement("all", 1, 1) == "Showing all 1 task"
    for mode in SHOW_MODES:
        assert "hide" not in show_announcement(mode, 1, 2)


# --- cutting and wrapping -------------------------------------------------------------------

CJK = "一只在雨中的纸灯笼，水彩画风格，柔和的光线"  # 21 wide characters, 42 cells


def test_a_cjk_prompt_is_cut_with_an_ellipsis_by_cells() -> None:
    assert cell_width(CJK) == 42
    for width in range(1, 45):
        text = cut(CJK, width)
        assert cell_width(text) <= width
        if width < 42:
            assert text.endswith("…")
    assert cut(CJK, 10) == "一只在雨…"  # 8 cells of text and the ellipsis; no half character
    assert cut(CJK, 42) == CJK
    assert one_line(CJK, 10) == "一只在雨…"  # what the table's prompt column uses
    assert one_line("a  lighthouse\non a cliff", 12) == "a lighthous…"
    assert cut("anything", 0) == ""


def test_hanging_indent_keeps_continuation_lines_under_the_value() -> None:
    lines = hanging_wrap("prompt", "a paper lantern in the rain, watercolour, soft light", 30)
    assert lines[0].startswith("prompt a paper")
    assert all(line.startswith(" " * 7) for line in lines[1:])
    assert all(cell_width(line) <= 30 for line in lines)
    assert " ".join(line.strip() for line in lines).removeprefix("prompt ") == (
        "a paper lantern in the rain, watercolour, soft light"
    )
    aligned = hanging_wrap("id", "1712345678901234", 40, label_width=10)
    assert aligned == ["id        1712345678901234"]


def test_custom_ids_wrap_at_double_colons() -> None:
    custom_id = "MJ::JOB::upsample::1::9c0d1e2f-3a4b-5c6d-7e8f-90a1b2c3d4e5"
    lines = hanging_wrap("customId", custom_id, 36)
    body = [line[9:] for line in lines]
    assert body[0] == "MJ::JOB::upsample::1::"
    assert "".join(body) == custom_id
    assert all(cell_width(line) <= 36 for line in lines)
    # A piece longer than a line is split where it must.
    assert wrap("MJ::" + "x" * 30, 10) == ["MJ::", "x" * 10, "x" * 10, "x" * 10]


def test_a_narrow_pane_puts_the_value_under_its_label() -> None:
    lines = hanging_wrap("finalPrompt", "a lighthouse on a cliff", 20)
    assert lines[0] == "finalPrompt"
    assert all(line.startswith("  ") and cell_width(line) <= 20 for line in lines[1:])


def test_wrap_counts_cjk_cells() -> None:
    lines = wrap(CJK, 10)
    assert all(cell_width(line) <= 10 for line in lines)
    assert "".join(lines) == CJK


# --- `o` with no browser ---------------------------------------------------------------------


def test_no_browser_is_said_instead_of_opening(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_browser(using=None):
        raise webbrowser.Error("could not locate runnable browser")

    monkeypatch.setattr(webbrowser, "get", no_browser)
    assert browser.browser_problem() == browser.NO_BROWSER
    assert "no browser found" in browser.NO_BROWSER.lower()


def test_a_console_browser_counts_as_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webbrowser, "get", lambda using=None: webbrowser.GenericBrowser("w3m"))
    assert browser.browser_problem() == browser.NO_BROWSER
    firefox = webbrowser.BackgroundBrowser("/usr/bin/firefox")
    monkeypatch.setattr(webbrowser, "get", lambda using=None: firefox)
    assert browser.browser_problem() is None


def test_this_machine_with_no_display_and_no_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    # The real lookup, on an environment with nothing to find (no $BROWSER, no display, PATH
    # empty): what a headless server gives.
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    monkeypatch.setattr(webbrowser, "_browsers", {})
    assert browser.browser_problem() == browser.NO_BROWSER
