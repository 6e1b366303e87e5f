"""Issue 16, the long-lived pane, through keys and messages: the watchlist shared with other
processes, +/- re-arming the waiting poll, keyed toasts, Esc/q/ctrl+c, g/G in the buttons,
the help and the dialogs' footers, a [keys] config, Y, and the status line's first moments."""

from __future__ import annotations

import asyncio

from textual.widgets import Footer, Static
from textual.widgets._footer import FooterKey

from mjdash.model.secret import Secret
from mjdash.sim.engine import ManualClock
from mjdash.store.cache import TaskCache
from mjdash.store.config import load_config
from mjdash.store.watchlist import Watchlist
from mjdash.ui.app import MjdashApp
from mjdash.ui.detail import ButtonList
from mjdash.ui.run import build_dashboard
from mjdash.ui.screens import AddScreen, ConfirmScreen, HelpScreen
from mjdash.ui.table import TaskTable
from tests.support.harness import make_app

WIDE = (130, 36)


def imagine(sim, prompt: str) -> str:
    answer = sim.engine.imagine(prompt)
    assert answer["code"] == 1
    return answer["result"]


async def poll(app: MjdashApp, pilot) -> None:
    worker = app.poll(force=True)
    assert worker is not None
    await worker.wait()
    await pilot.pause()


def toasts(app: MjdashApp) -> list[str]:
    return [str(toast.render()) for toast in app.screen.query("Toast")]


def footer_words(screen) -> list[str]:
    return [key.description for key in screen.query_one(Footer).query(FooterKey)]


# --- the watchlist shared with another process --------------------------------------------


async def test_ids_another_process_adds_or_removes_appear_on_r(sim, tmp_path):
    first = imagine(sim, "a kite")
    app = make_app(sim, tmp_path, [first], auto_poll=False)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await poll(app, pilot)
        assert app.row_ids() == [first]
        other = Watchlist.load(tmp_path / "watchlist.toml")  # what `mjdash add` does
        second = imagine(sim, "a second kite")
        other.add([second])
        other.save()
        await pilot.press("r")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.row_ids() == [first, second]
        assert app.tasks[second].prompt.startswith("a second kite")  # it was polled too
        other.remove([first])
        other.save()
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.row_ids() == [second]


async def test_ids_added_elsewhere_appear_within_one_poll_interval(sim, tmp_path):
    app = make_app(sim, tmp_path, [imagine(sim, "a kite")], interval=1.0)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        other = Watchlist.load(tmp_path / "watchlist.toml")
        new = imagine(sim, "from another shell")
        other.add([new])
        other.save()
        for _ in range(60):  # the auto poll picks it up; no key pressed
            await asyncio.sleep(0.1)
            await pilot.pause()
            if new in app.row_ids() and new in app.tasks:
                break
        assert new in app.row_ids() and new in app.tasks


async def test_an_unreadable_watchlist_file_is_said_once(sim, tmp_path):
    app = make_app(sim, tmp_path, [imagine(sim, "a kite")], auto_poll=False)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        (tmp_path / "watchlist.toml").write_text("[[task]\nid = \n")
        for _ in range(3):
            await pilot.press("r")
            await app.workers.wait_for_complete()
            await pilot.pause()
        said = [t for t in toasts(app) if "Watchlist file" in t]
        assert len(said) == 1, toasts(app)
        assert len(app.row_ids()) == 1  # memory kept as it was


# --- the poll interval ----------------------------------------------------------------------


async def test_speeding_up_rearms_the_waiting_poll_at_once(sim, tmp_path):
    app = make_app(sim, tmp_path, [imagine(sim, "a kite")], interval=1.0)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await pilot.press(*["minus"] * 8)
        assert app.poller.interval == 120
        await poll(app, pilot)  # this poll's answer arms the timer for 2 minutes
        wait = app.next_poll_in
        assert wait is not None and wait > 60
        await pilot.press(*["plus"] * 8)
        assert app.poller.interval == 1
        assert polls_within(app, 1.0)
        # Slower: the wait under way runs out as it is (or, when that poll already answered,
        # the new wait is the new interval): never the 2 minutes again.
        await pilot.press("minus")
        assert app.poller.interval == 2
        assert polls_within(app, 2.0)


def polls_within(app, seconds: float) -> bool:
    """The next poll is due within `seconds`, or (on a slow machine, that time already gone)
    the poll it was due for is running now."""
    wait = app.next_poll_in
    if wait is not None:
        return wait <= seconds
    return app.poll_in_flight


async def test_repeated_interval_toasts_are_one_toast_that_updates(sim, tmp_path):
    app = make_app(sim, tmp_path, auto_poll=False)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await pilot.press(*["minus"] * 12)
        await pilot.pause()
        shown = [t for t in toasts(app) if "Polling every" in t]
        assert shown == ["Polling every 120s"], shown


# --- Esc, q, ctrl+c -------------------------------------------------------------------------


async def test_escape_backs_out_one_level(sim_factory, tmp_path):
    clock = ManualClock()
    sim = sim_factory(clock=clock, speed=1.0)
    grid = imagine(sim, "a lighthouse")
    clock.advance(600)
    app = make_app(sim, tmp_path, [grid], auto_poll=False)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await poll(app, pilot)
        await pilot.press("slash", "l", "i", "g", "h", "t", "enter")
        await pilot.pause()
        assert app.batch.view.text == "light"
        await pilot.press("enter")  # into the buttons
        assert isinstance(app.focused, ButtonList)
        await pilot.press("escape")  # buttons -> table
        assert isinstance(app.focused, TaskTable)
        assert app.batch.view.text == "light"
        await pilot.press("escape")  # the filter -> cleared
        await pilot.pause()
        assert app.batch.view.text == ""
        await pilot.press("escape")  # nothing left: nothing happens, the app runs on
        assert app.is_running and isinstance(app.focused, TaskTable)


async def test_q_closes_dialogs_and_never_quits_from_one(sim, tmp_path):
    task = imagine(sim, "a kite")
    app = make_app(sim, tmp_path, [task], auto_poll=False)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("q")
        assert app.screen is app.screen_stack[0] and app.is_running
        await pilot.press("d")  # not finished: asks first
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("q")
        await pilot.pause()
        assert app.screen is app.screen_stack[0] and app.is_running
        assert app.row_ids() == [task]  # q said no
        await pilot.press("a")
        assert isinstance(app.screen, AddScreen)
        await pilot.press("q", "escape")  # q is typed into the box; Esc closes
        await pilot.pause()
        assert app.screen is app.screen_stack[0] and app.is_running


async def test_ctrl_c_quits_with_the_save_of_q(sim, tmp_path):
    app = make_app(sim, tmp_path, auto_poll=False)
    task = imagine(sim, "a kite")
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        app.add_ids([task])  # saved half a second later, or on the way out
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not any("ctrl+q" in t for t in toasts(app))
    assert not app.is_running
    assert Watchlist.load(tmp_path / "watchlist.toml").ids == [task]


async def test_ctrl_c_quits_from_inside_a_dialog_too(sim, tmp_path):
    app = make_app(sim, tmp_path, auto_poll=False)
    task = imagine(sim, "a kite")
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        app.add_ids([task])
        await pilot.press("d")  # not finished: the confirm dialog
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert not app.is_running
    assert Watchlist.load(tmp_path / "watchlist.toml").ids == [task]


# --- buttons, help, footers -------------------------------------------------------------------


async def test_g_and_G_move_in_the_button_list(sim_factory, tmp_path):
    clock = ManualClock()
    sim = sim_factory(clock=clock, speed=1.0)
    grid = imagine(sim, "a lighthouse")
    clock.advance(600)
    app = make_app(sim, tmp_path, [grid], auto_poll=False)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await poll(app, pilot)
        await pilot.press("enter")
        buttons = app.buttons
        assert isinstance(app.focused, ButtonList) and len(buttons.buttons) > 4
        await pilot.press("G")
        assert buttons.highlighted == len(buttons.buttons) - 1
        await pilot.press("g")
        assert buttons.highlighted == 0
        await pilot.press("end")
        assert buttons.highlighted == len(buttons.buttons) - 1
        await pilot.press("home")
        assert buttons.highlighted == 0


async def test_help_is_grouped_and_dialogs_show_their_own_footer(sim, tmp_path):
    app = make_app(sim, tmp_path, [imagine(sim, "a kite")], auto_poll=False)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await pilot.pause()
        assert "Add" in footer_words(app.screen)
        await pilot.press("question_mark")
        help_screen = app.screen
        text = str(help_screen.query_one(Static).render())
        titles = [line for line in text.splitlines() if line in ("Move", "Act on the task",
                  "Copy", "View", "Polling", "General")]  # fmt: skip
        assert titles == ["Move", "Act on the task", "Copy", "View", "Polling", "General"]
        assert "copy the prompt" in text and "first button" in text
        words = footer_words(help_screen)
        assert "Close" in words and "Add" not in words and "Quit" not in words
        await pilot.press("escape", "d")
        words = footer_words(app.screen)
        assert isinstance(app.screen, ConfirmScreen)
        assert "No" in words and "Add" not in words
        await pilot.press("question_mark")  # the help of the dialog one is in
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one(Static).render())
        assert "\ny " in text and "n Esc q" in text and "add task ids" not in text
        await pilot.press("escape")
        assert isinstance(app.screen, ConfirmScreen)


async def test_a_keys_table_in_the_config_file_rebinds_the_dashboard(sim, tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(
        f'[api]\nbase_url = "{sim.url}"\nallow_http = true\n\n'
        '[keys]\ncycle_sort = "S"\ncopy_prompt = "ctrl+y"\n'
    )
    config = load_config(path, env={})
    assert config.keymap == {"cycle_sort": "S", "copy_prompt": "ctrl+y"}
    watchlist = Watchlist.load(tmp_path / "watchlist.toml")
    watchlist.add([imagine(sim, "a kite with a long tail")])
    app = build_dashboard(
        config,
        Secret("test-key"),
        watchlist,
        cache=TaskCache(tmp_path / "cache.sqlite3"),
        subtitle="",
        auto_poll=False,
    )
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await poll(app, pilot)
        before = app.batch.view.sort
        await pilot.press("s")
        assert app.batch.view.sort == before  # s no longer sorts
        await pilot.press("S")
        assert app.batch.view.sort != before
        await pilot.press("ctrl+y")
        await pilot.pause()
        assert any("Copied prompt" in t and "a kite with a long tail" in t for t in toasts(app))
        await pilot.press("question_mark")
        text = str(app.screen.query_one(Static).render())
        assert "\nS " in text and "\nctrl+y " in text  # the help shows the keys as rebound


async def test_Y_copies_the_prompt(sim, tmp_path):
    app = make_app(sim, tmp_path, [imagine(sim, "a paper boat --ar 3:2")], auto_poll=False)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await poll(app, pilot)
        await pilot.press("Y")
        await pilot.pause()
        assert any("Copied prompt" in t and "a paper boat --ar 3:2" in t for t in toasts(app))


# --- the status line before the first answer, and the key's source ----------------------------


def status_line(app: MjdashApp) -> str:
    return str(app.query_one("#status-line", Static).render())


async def test_no_ok_and_no_polled_ago_before_the_server_answered(sim, tmp_path):
    app = make_app(sim, tmp_path, [imagine(sim, "a kite")], auto_poll=False)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        line = status_line(app)
        assert "not polled yet" in line and "● ok" not in line and " ago" not in line
        await poll(app, pilot)
        line = status_line(app)
        assert "● ok" in line and "polled 0s ago" in line


async def test_key_rejected_names_the_key_file_and_r_reads_it_again(
    sim_factory, tmp_path, monkeypatch
):
    sim = sim_factory(key="right-key")
    task = imagine(sim, "a kite")
    key_file = tmp_path / "key"
    key_file.write_text("wrong-key\n")
    key_file.chmod(0o600)
    monkeypatch.setenv("MJDASH_KEY_FILE", str(key_file))  # the harness starts with "test-key"
    app = make_app(sim, tmp_path, [task], auto_poll=False)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await poll(app, pilot)
        line = status_line(app)
        assert f"key rejected: check the key file {key_file}" in line, line
        assert " ago" not in line  # attempts that were refused are not "polled"
        key_file.write_text("right-key\n")
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        line = status_line(app)
        assert "● ok" in line and task in app.tasks, line


async def test_a_modal_rows_elapsed_moves_with_the_clock(sim_factory, tmp_path):
    from datetime import UTC, datetime, timedelta

    from mjdash.model.task import Status

    clock = ManualClock()
    sim = sim_factory(clock=clock, speed=1.0)
    ids = sim.engine.seed_demo()
    current = [datetime.fromtimestamp(clock.now, UTC)]
    app = make_app(sim, tmp_path, ids, auto_poll=False, now=lambda: current[0])
    async with app.run_test(size=(130, 50)) as pilot:
        await poll(app, pilot)
        modal = next(i for i in ids if i in app.tasks and app.tasks[i].status is Status.MODAL)
        before = app.table.get_cell(modal, "elapsed").plain
        current[0] += timedelta(minutes=3)
        app.tick()  # the once-a-second tick
        await pilot.pause()
        after = app.table.get_cell(modal, "elapsed").plain
        assert after != before, (before, after)


# --- toasts and dialogs ---------------------------------------------------------------------


async def test_toasts_wait_while_a_dialog_is_open_and_come_after_it(sim_factory, tmp_path):
    clock = ManualClock()
    sim = sim_factory(clock=clock, speed=1.0)
    ids = [imagine(sim, f"a paper crane {n}") for n in range(2)]
    app = make_app(sim, tmp_path, ids, auto_poll=False)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await poll(app, pilot)
        await pilot.press("y")  # "Copied id": a toast on screen when the dialog opens
        await pilot.pause()
        assert any("Copied" in t for t in toasts(app))
        await pilot.press("question_mark")
        await pilot.pause()
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        dialog = help_screen.query_one("#help").region
        clock.advance(900)  # both finish: the poll's digest says "2 done"
        await poll(app, pilot)
        await pilot.pause()
        assert all(app.tasks[i].is_terminal for i in ids)
        # Nothing drawn over the dialog: no toast on its screen at all, none overlapping it.
        on_top = list(help_screen.query("Toast"))
        assert not any(toast.region.overlaps(dialog) for toast in on_top)
        assert on_top == []
        # Nor under it: the dimmed screen below showed the "Copied" toast it had (seen in tmux).
        assert [t for s in app.screen_stack[:-1] for t in s.query("Toast")] == []
        assert "2 notes when the dialog closes" in status_line(app)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.pause()
        assert app.screen is not help_screen
        shown = toasts(app)
        assert any("Copied" in t for t in shown) and any("done" in t for t in shown), shown
        assert "when the dialog closes" not in status_line(app)


async def test_many_held_toasts_come_back_as_the_newest_few_and_one_folded(sim, tmp_path):
    app = make_app(sim, tmp_path, auto_poll=False)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        for n in range(6):
            app.notify(f"note {n}", markup=False)
        await pilot.pause()
        assert list(app.screen.query("Toast")) == []
        await pilot.press("escape")
        await pilot.pause()
        await pilot.pause()
        shown = toasts(app)
        assert len(shown) == 4, shown
        assert all(f"note {n}" in " ".join(shown) for n in range(6))  # nothing lost
        assert "While the dialog was open" in shown[0]
