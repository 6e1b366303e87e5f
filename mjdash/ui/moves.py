"""One press across many tasks, and retries, from the dashboard (issue 15).

With marks, `1`-`4` / `!@#$` press U1-U4 / V1-V4 on every marked task that has the button;
`U` presses all four upscales (of the selected grid, or of every marked grid); `b` picks a
button by name from those the marked tasks have; `R` submits failed and stalled tasks' prompts
again (the marked ones, or the selected one). Without marks, `1`-`4` / `!@#$` are the single
press of ui/actions.py.

Every move asks once (MoveConfirmScreen: how many jobs, which tasks lack the button; buttons
pressed before skipped unless `a`), more than `[act] confirm_over` jobs asks for the number to
be typed, and nothing is sent before that. Then a worker (group "moves") sends the jobs with
mjdash.net.batch_press.run_jobs, paced; each result lands in the watchlist as it comes
(record_result: the child under its parent, a retry linked to the old task), a refusal is
shown on its task's row and in the summary toast and never stops the rest, and Esc (a
priority binding, enabled only while a move runs on the main screen) stops what is not sent.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.binding import Binding

from mjdash.model.moves import (
    needs_typed_confirm,
    plan_press,
    plan_retry,
    press_question,
)
from mjdash.model.task import short_id
from mjdash.net.batch_press import (
    BatchAborted,
    BatchRun,
    Job,
    JobResult,
    press_jobs,
    record_result,
    retry_jobs,
    run_jobs,
)
from mjdash.net.submit import DEFAULT_PACE
from mjdash.ui.cells import one_line
from mjdash.ui.marks import Marks, button_names
from mjdash.ui.modal_prompt import ChoiceScreen
from mjdash.ui.move_screens import MoveConfirmScreen, MoveQuestion, TypedCountScreen

if TYPE_CHECKING:
    from mjdash.ui.host import Dashboard

REFUSED_STYLE = "bold red"


class Moves:
    BINDINGS = [
        Binding("U", "press_all_four", "Upscale all four", show=False, id="press_all_four"),
        Binding("b", "press_named", "Press a button by name…", show=False, id="press_named"),
        Binding("R", "resubmit", "Submit again", show=False, id="resubmit"),
        # Only while a move runs, on the dashboard itself (check_action): Esc stops it.
        Binding("escape", "stop_move", "Stop the move", priority=True, show=False, id="stop_move"),
    ]

    def __init__(self, app: Dashboard, *, marks: Marks, actions: Any) -> None:
        self.app = app
        self.marks = marks
        self.actions = actions  # ui/actions.py: 1-4 and !@#$ without marks
        self.pace = DEFAULT_PACE  # seconds between two jobs, start to start (as `submit`)
        self.refused: dict[str, str] = {}  # task id -> its last refusal ("23 queue full, ...")
        self.progress = ""  # the status line's note while a move runs
        self.last_run: BatchRun | None = None
        self.existed: list[str] = []
        self._cancel: asyncio.Event | None = None

    @property
    def running(self) -> bool:
        return self._cancel is not None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop_move":
            return self.running and len(self.app.screen_stack) == 1
        return True

    def _targets(self) -> list[str]:
        """What a new move acts on: the marked tasks, or the selected one; none while a move
        is being sent (one at a time: it says so)."""
        if self.running:
            self.app.say("A move is being sent; Esc stops it.", severity="warning")
            return []
        marked = self.marks.ids
        if marked:
            return marked
        selected = self.app.selected_id
        return [selected] if selected else []

    # --- pressing -------------------------------------------------------------------------

    def action_press(self, kind: str, number: int) -> None:
        """1-4 / !@#$: across the marked tasks; without marks, the selected one's button."""
        if not self.marks.ids:
            self.actions.action_press(kind, number)
            return
        self.press([f"{'U' if kind == 'upscale' else 'V'}{number}"])

    def action_press_all_four(self) -> None:
        """U: U1-U4 of the selected grid, or of every marked grid."""
        self.press(["all four"], shown="U1-U4")

    def action_press_named(self) -> None:
        """b: a button by name, from those the marked (or selected) tasks have."""
        ids = self._targets()
        if self.running:  # (said so)
            return
        found = button_names(ids, self.app.tasks)
        if not found:
            self.app.say("No buttons on these tasks (yet).", severity="warning")
            return
        choices: list[tuple[Text | str, object]] = []
        for name, count in found.items():
            label = Text(name, style="bold")
            label.append(f"  ({count} of {len(ids)} tasks)", style="grey62")
            choices.append((label, name))
        title = Text(f"Press which button on {_tasks(len(ids))}?", style="bold")
        note = "Enter picks (a confirm follows); Esc cancels."

        def picked(name: str | None) -> None:
            if name:
                self.press([name])

        self.app.push_screen(ChoiceScreen(title, choices, note=note), callback=picked)

    def press(self, names: list[str], *, shown: str = "") -> None:
        """Plan `names` on the targets, confirm, send."""
        ids = self._targets()
        if not ids:
            return
        app = self.app
        shown_names = [shown] if shown else names

        def used(task_id: str) -> list[str]:
            entry = app.watchlist.get(task_id)
            return entry.used if entry else []

        def plan(again: bool):
            return plan_press(ids, app.tasks, names, used, again=again)

        def ask(again: bool) -> MoveQuestion:
            chosen = plan(again)
            details = [f"{short_id(s.task_id)} {s.button}: {s.reason}" for s in chosen.lacking]
            if not again and chosen.already:
                details += [f"{short_id(s.task_id)} {s.button}: pressed before (skipped)"
                            for s in chosen.already]  # fmt: skip
            question = press_question(chosen, shown_names, self.pace)
            return MoveQuestion(question, tuple(details), chosen.count)

        can_again = bool(plan(False).already)
        what = f"press {', '.join(shown_names)}"
        self._confirm(ask, can_again, what, lambda again: press_jobs(plan(again).presses))

    # --- retry ----------------------------------------------------------------------------

    def action_resubmit(self) -> None:
        """R: failed and stalled tasks (marked, or the selected one) submitted again."""
        ids = self._targets()
        if not ids:
            return
        app = self.app
        stalled = set(app.board.stalls.stalled)
        retried = {e.retry_of for e in app.watchlist.entries if e.retry_of}

        def plan(again: bool):
            return plan_retry(ids, app.tasks, stalled, retried, again=again)

        def ask(again: bool) -> MoveQuestion:
            chosen = plan(again)
            count = len({r.task_id for r in chosen.retries})
            text = f"submit again: {_jobs(chosen.count)} for {_tasks(count)}"
            text += f", {self.pace:g} s apart" if self.pace > 0 else ""
            if chosen.skipped:
                text += f" ({len(chosen.skipped)} skipped)"
            details = [f"{short_id(r.task_id)}: {one_line(r.prompt, 60)}" for r in chosen.retries]
            reasons = Counter(s.reason for s in chosen.skipped)
            details += [f"skipped {n}: {reason}" for reason, n in reasons.most_common()]
            return MoveQuestion(text, tuple(details), chosen.count)

        can_again = any(s.reason == "retried already" for s in plan(False).skipped)
        self._confirm(ask, can_again, "submit again", lambda again: retry_jobs(plan(again).retries))

    # --- confirm, then send ---------------------------------------------------------------

    def _confirm(
        self,
        ask: Callable[[bool], MoveQuestion],
        can_again: bool,
        what: str,
        jobs_for: Callable[[bool], list[Job]],
    ) -> None:
        app = self.app
        screen = MoveConfirmScreen(ask, can_again=can_again)

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            jobs = jobs_for(screen.again)
            if not jobs:
                return
            if not needs_typed_confirm(len(jobs), app.config.act.confirm_over):
                self.start(jobs, what)
                return

            def typed(ok: bool | None) -> None:
                if ok:
                    self.start(jobs, what)
                else:
                    app.say("Nothing was sent.", timeout=2)

            app.push_screen(TypedCountScreen(len(jobs), what), callback=typed)

        app.push_screen(screen, callback=answered)

    def start(self, jobs: list[Job], what: str) -> None:
        """Send confirmed jobs in a worker (group "moves")."""
        self._cancel = asyncio.Event()
        self.existed: list[str] = []  # answers naming a task already watched
        self.progress = f"{what}: starting · Esc stops"
        self.app.render_status_line()
        self.app.run_worker(
            self._send(jobs, what, self._cancel), name=what, group="moves", exit_on_error=False
        )

    def action_stop_move(self) -> None:
        if self._cancel is not None and not self._cancel.is_set():
            self._cancel.set()
            self.progress = "stopping: nothing more is sent"
            self.app.render_status_line()

    async def _send(self, jobs: list[Job], what: str, cancel: asyncio.Event) -> None:
        app = self.app
        total = len(jobs)

        def sending(job: Job, index: int) -> None:
            self.progress = f"sending {index + 1} of {total} · Esc stops"
            app.render_status_line()

        def report(result: JobResult) -> None:
            self.land(result)

        try:
            run = await run_jobs(
                app.client, jobs, pace=self.pace, report=report, sending=sending, cancel=cancel
            )
        except BatchAborted as exc:
            run = exc.run
            app.say(
                f"{what} stopped: {exc.message}; {len(run.unsent)} not sent",
                title="Move stopped",
                severity="error",
            )
        finally:
            self._cancel = None
            self.progress = ""
            app.render_status_line()
        self.last_run = run
        self._summarise(run, what)

    def land(self, result: JobResult) -> None:
        """One result: the new task under its parent (rows rebuilt), or the refusal on the
        parent's row."""
        app = self.app
        parent = result.job.parent
        if result.ok and result.task_id is not None:
            self.refused.pop(parent, None)
            if result.task_id in app.watchlist:  # pressed before mjdash knew: that task again
                self.existed.append(result.task_id)
            if record_result(app.watchlist, result):
                app.poller.track([result.task_id], known=app.tasks)
                app.save_soon()
                app.rebuild_rows()
                if app.auto_poll and not app.poller.paused:
                    app.poll()
        else:
            self.refused[parent] = result.error or "refused"
            app.sync_rows([parent], triage=False)
        if app.selected_id == parent:
            app.show_selected()

    def _summarise(self, run: BatchRun, what: str) -> None:
        existed = set(self.existed)
        made = [r for r in run.results if r.ok and r.task_id not in existed]
        refused = [r for r in run.results if not r.ok]
        text = f"{what}: {len(made)} new task{'s' if len(made) != 1 else ''}"
        if existed:
            text += f", {len(existed)} pressed before (the server gave that task again)"
        if refused:
            text += f", {len(refused)} refused"
        if run.unsent:
            text += f", {len(run.unsent)} not sent (stopped)"
        lines = [text]
        lines += [f"{short_id(r.job.parent)} {r.job.button}: {r.error}" for r in refused[:5]]
        if len(refused) > 5:
            lines.append(f"… {len(refused) - 5} more refused (✘ on their rows)")
        severity = "warning" if refused or run.unsent else "information"
        self.app.say("\n".join(lines), title="Move", severity=severity)

    # --- the row --------------------------------------------------------------------------

    def decorate_row(self, task_id: str, cells: dict[str, Text]) -> dict[str, Text]:
        """A task whose last job was refused says so in front of its prompt: ✘ 23 queue full."""
        refusal = self.refused.get(task_id)
        if refusal is None:
            return cells
        prompt = Text(f"✘ {one_line(refusal, 28)} ", style=REFUSED_STYLE)
        prompt.append_text(cells["prompt"])
        return {**cells, "prompt": prompt}

    def refusal_of(self, task_id: str) -> str:
        """The last refusal a move got on this task ("" when none)."""
        return self.refused.get(task_id, "")


def _jobs(count: int) -> str:
    return f"{count} job" if count == 1 else f"{count} jobs"


def _tasks(count: int) -> str:
    return f"{count} task" if count == 1 else f"{count} tasks"
