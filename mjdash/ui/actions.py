"""Acting on tasks from the dashboard: pressing buttons, the answers, MODAL prompts, copy
formats, triage and lineage navigation.

The app's bindings call thin `action_*` methods that delegate here. Requests run in workers of
the group "action" (never blocking the UI); every failure becomes one notification. After an
accepted press (codes 1, 21, 22) the child task is watched with its parent set, the pressed
button is remembered in the watchlist (its `used` list, saved across restarts) and the child is
selected. Code 21 from Custom Zoom or Vary (Region) leaves the child in MODAL: the prompt dialog
opens at once, and `m` on a MODAL task opens it later.
"""

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING

from rich.text import Text
from textual.binding import Binding

from mjdash.model import kinds
from mjdash.model.api import ACTION_PATH, action_payload, auth_header, is_env_name
from mjdash.model.task import Button, Status, Task, describe_custom_id, short_id
from mjdash.model.triage import next_to_triage, triaged, waits_for_triage
from mjdash.net.client import MjError, SubmitResult
from mjdash.net.submit import action_outcome, answer_problem, queue_note
from mjdash.ui.cells import one_line, triage_mark
from mjdash.ui.modal_prompt import ChoiceScreen, ModalAnswer, ModalPromptScreen, dialog_kind
from mjdash.ui.screens import ConfirmScreen

if TYPE_CHECKING:
    from mjdash.ui.host import Dashboard

ZOOM_KINDS = ("zoom", "custom_zoom")
_MODAL_PREFIXES = ("MJ::CustomZoom::", "MJ::Inpaint::")
PAN_KINDS = ("pan",)


# --- copy formats (no UI) ------------------------------------------------------------------


def action_body(task_id: str, custom_id: str, *, compact: bool = False) -> str:
    body = action_payload(task_id, custom_id)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":") if compact else None)


def curl_line(task_id: str, custom_id: str, *, base_url: str, key_env: str, auth: str) -> str:
    """A ready `curl` for /mj/submit/action. The key is `$<key_env>`, never its value."""
    variable = key_env if is_env_name(key_env) else "COMETAPI_KEY"
    name, value = auth_header(auth, f"${variable}")
    header = f'"{name}: {value}"'
    url = base_url.rstrip("/") + ACTION_PATH
    parts = [
        "curl -X POST",
        shlex.quote(url),
        "-H",
        header,
        "-H",
        shlex.quote("Content-Type: application/json"),
        "-d",
        shlex.quote(action_body(task_id, custom_id, compact=True)),
    ]
    return " ".join(parts)


def copy_formats(
    task_id: str, custom_id: str, *, base_url: str, key_env: str, auth: str
) -> list[tuple[str, str]]:
    """(name, text) for the copy chooser: the customId, the JSON body, a curl line."""
    return [
        ("customId", custom_id),
        ("JSON body", action_body(task_id, custom_id)),
        ("curl line", curl_line(task_id, custom_id, base_url=base_url, key_env=key_env, auth=auth)),
    ]


def find_numbered(task: Task, kind: str, number: int) -> Button | None:
    """U<n> (kind "upscale") or V<n> (kind "variation") among a grid's buttons."""
    wanted = (kind, f"{'U' if kind == 'upscale' else 'V'}{number}")
    for button in task.buttons:
        if describe_custom_id(button.custom_id) == wanted:
            return button
    return None


# --- the controller ------------------------------------------------------------------------


class Actions:
    """Everything the action keys do, for one dashboard: the keys and what they do, together.

    Enter on a button presses it (the app's OptionSelected handler calls `press_highlighted`).
    """

    BINDINGS = [
        Binding("1", "press('upscale', 1)", "Press U1", show=False, id="press_u1"),
        Binding("2", "press('upscale', 2)", "Press U2", show=False, id="press_u2"),
        Binding("3", "press('upscale', 3)", "Press U3", show=False, id="press_u3"),
        Binding("4", "press('upscale', 4)", "Press U4", show=False, id="press_u4"),
        Binding(
            "exclamation_mark",
            "press('variation', 1)",
            "Press V1",
            key_display="!",
            show=False,
            id="press_v1",
        ),
        Binding(
            "at", "press('variation', 2)", "Press V2", key_display="@", show=False, id="press_v2"
        ),
        Binding(
            "number_sign",
            "press('variation', 3)",
            "Press V3",
            key_display="#",
            show=False,
            id="press_v3",
        ),
        Binding(
            "dollar_sign",
            "press('variation', 4)",
            "Press V4",
            key_display="$",
            show=False,
            id="press_v4",
        ),
        Binding("z", "choose('zoom')", "Zoom…", show=False, id="choose_zoom"),
        Binding("P", "choose('pan')", "Pan…", show=False, id="choose_pan"),
        Binding("m", "finish_modal", "MODAL prompt", show=False, id="finish_modal"),
        Binding("C", "copy_as", "Copy as…", show=False, id="copy_as"),
        Binding("n", "next_triage", "Next to triage", id="next_triage"),
        Binding("x", "toggle_dismissed", "Dismiss", show=False, id="toggle_dismissed"),
        Binding("h", "jump_parent", "Parent", show=False, id="jump_parent"),
    ]

    def __init__(self, app: Dashboard) -> None:
        self.app = app
        self._sending: set[tuple[str, str]] = set()  # (task id, customId or "modal") in flight

    # --- helpers ----------------------------------------------------------------------------

    def _refresh(self, ids: list[str]) -> None:
        """Rows, detail and status line after a watchlist change these ids' marks depend on."""
        app = self.app
        app.sync_rows(ids)
        app.show_selected()
        app.render_status_line()

    def reveal(self, task_id: str) -> None:
        """Unfold every ancestor of `task_id` so its row is in the table."""
        app = self.app

        if app.board.unfold_ancestors(task_id, app.parent_of):
            app.rebuild_rows()

    def action_select_task(self, task_id: str) -> bool:
        app = self.app
        if task_id not in app.watchlist:
            self.app.say(f"Task {task_id} is not watched.", severity="warning")
            return False
        self.reveal(task_id)
        app.table.select(task_id)
        app.table.focus()
        return True

    def _describe(self, task_id: str, task: Task | None) -> Text:
        text = Text("task ")
        text.append(task_id, style="bold")
        if task is not None:
            text.append(f" ({task.action or '?'}")
            if task.shown_prompt:
                text.append(", ")
                text.append(one_line(task.shown_prompt, 50), style="italic")
            text.append(")")
        return text

    # --- pressing ---------------------------------------------------------------------------

    def refusals(self, task: Task | None) -> tuple[tuple[str, str], ...]:
        """(customId, why) for the task's buttons this server refuses (model/kinds.py)."""
        if task is None or not task.buttons:
            return ()
        client = self.app.client
        family, learned = client.family, client.refused_prefixes
        found = ((b.custom_id, kinds.refusal(b, family, learned)) for b in task.buttons)
        return tuple((custom_id, why) for custom_id, why in found if why)

    def press_highlighted(self) -> None:
        """enter on the button list: press the button, or copy a "Copy prompt N" line."""
        copy = self.app.buttons.selected_copy
        if copy is not None:
            self.app.copy_value(copy.name, copy.text)
            return
        task_id = self.app.selected_id
        button = self.app.buttons.selected_button
        if task_id is None or button is None:
            return
        self.request_press(task_id, button)

    def action_press(self, kind: str, number: int) -> None:
        """1-4: U1-U4; !@#$: V1-V4 on the selected grid."""
        app = self.app
        task_id, task = app.selected_id, app.selected_task
        if task_id is None:
            return
        name = f"{'U' if kind == 'upscale' else 'V'}{number}"
        if self._not_finished(task):
            return
        button = find_numbered(task, kind, number) if task is not None else None
        if button is None:
            self.app.say(
                f"This task has no {name} button (grids have U1-U4 and V1-V4).", severity="warning"
            )
            return
        self.request_press(task_id, button)

    def action_choose(self, family: str) -> None:
        """z: zoom buttons; P: pan buttons of the selected upscale, in a small dialog."""
        app = self.app
        task_id, task = app.selected_id, app.selected_task
        if task_id is None:
            return
        if self._not_finished(task):
            return
        kinds = ZOOM_KINDS if family == "zoom" else PAN_KINDS
        buttons = [b for b in (task.buttons if task else ()) if b.kind in kinds]
        if not buttons:
            self.app.say(
                f"This task has no {family} buttons (an upscale has them).", severity="warning"
            )
            return
        problem = self._press_problem(task_id, task, buttons[0])
        if problem:
            self.app.say(problem, severity="warning")
            return
        used = self._used(task_id)
        choices: list[tuple[Text | str, object]] = []
        for button in buttons:
            label = Text("✓ " if button.custom_id in used else "  ", style="green")
            label.append(button.name, style="bold")
            if button.emoji:
                label.append(f" {button.emoji}")
            choices.append((label, button))
        title = Text(f"{family.capitalize()} ", style="bold")
        title.append_text(self._describe(task_id, task))
        note = "Enter presses the button (it spends credits); Esc cancels."

        def picked(button: Button | None) -> None:
            if button is not None:
                self.request_press(task_id, button, confirmed=True)

        app.push_screen(ChoiceScreen(title, choices, note=note), callback=picked)

    def _not_finished(self, task: Task | None) -> bool:
        """Say so (and return True) when the task cannot have buttons to press yet."""
        if task is None:
            self.app.say("No answer from the server for this task yet.", severity="warning")
            return True
        if task.status is not Status.SUCCESS:
            self.app.say(
                f"Only a finished task's buttons can be pressed; this one is {task.status_text}.",
                severity="warning",
            )
            return True
        return False

    def _used(self, task_id: str) -> frozenset[str]:
        entry = self.app.watchlist.get(task_id)
        return frozenset(entry.used) if entry else frozenset()

    def _press_problem(self, task_id: str, task: Task | None, button: Button) -> str | None:
        if task is None:
            return "No answer from the server for this task yet."
        if task.status is not Status.SUCCESS:
            return f"Only a finished task's buttons can be pressed; this one is {task.status_text}."
        if button.custom_id not in {b.custom_id for b in task.buttons}:
            return "That button is no longer on the task; refresh with r."
        if (task_id, button.custom_id) in self._sending:
            return f"{button.name} on this task is being sent already."
        client = self.app.client
        why = kinds.refusal(button, client.family, client.refused_prefixes)
        if why:
            return f"{button.name} is not pressed: {why}. c copies its customId."
        return None

    def request_press(self, task_id: str, button: Button, *, confirmed: bool = False) -> None:
        """Press (after asking, when confirm_actions is on and not asked already)."""
        app = self.app
        task = app.tasks.get(task_id)
        problem = self._press_problem(task_id, task, button)
        if problem:
            self.app.say(problem, severity="warning")
            return
        if confirmed or not app.config.ui.confirm_actions or not button.starts_task:
            self._send_press(task_id, button)  # (the bookmark spends nothing: nothing to ask)
            return
        question = Text("Press ")
        question.append(button.name, style="bold")
        question.append(" on ")
        question.append_text(self._describe(task_id, task))
        question.append("?\nIt starts a new task and spends credits.")
        if button.custom_id in self._used(task_id):
            question.append("\nYou pressed this button before.", style="bold yellow")

        def answered(yes: bool | None) -> None:
            if yes:
                self._send_press(task_id, button)

        app.push_screen(ConfirmScreen(question, yes="Press"), callback=answered)

    def _send_press(self, task_id: str, button: Button) -> None:
        key = (task_id, button.custom_id)
        if key in self._sending:
            return
        self._sending.add(key)
        self.app.run_worker(
            self._press(task_id, button),
            name=f"press {button.name}",
            group="action",
            exit_on_error=False,
        )

    async def _press(self, task_id: str, button: Button) -> None:
        try:
            try:
                result = await self.app.client.submit_action(task_id, button.custom_id)
            except MjError as exc:
                self.app.say(
                    f"{button.name} on task {task_id} was not sent: {exc}",
                    title="Action failed",
                    severity="error",
                )
                return
            except Exception as exc:  # one line, never a traceback (or a key in a repr)
                self.app.say(
                    f"{button.name} on task {task_id} failed: {type(exc).__name__}",
                    title="Action failed",
                    severity="error",
                )
                return
        finally:
            self._sending.discard((task_id, button.custom_id))
        try:
            self.handle_answer(task_id, button, result)
        except Exception as exc:  # the request went through: say so, in one line
            self.app.say(
                f"{button.name} on task {task_id} was sent (answer {result.code}, task "
                f"{result.task_id}), but showing it failed: {type(exc).__name__}",
                title="Action",
                severity="error",
            )

    def handle_answer(self, task_id: str, button: Button, result: SubmitResult) -> str | None:
        """Act on the submit answer (net/submit.py, action_outcome); returns the child's id
        when one was added."""
        app = self.app
        outcome = action_outcome(result, task_id, opens_modal=button.opens_modal)
        if outcome == "refused" or result.task_id is None:
            app.say(
                f"{button.name} on task {task_id}: {answer_problem(result)}. Nothing was added.",
                title="Action refused",
                severity="error",
            )
            if result.refused_button:  # the server said so: mark it among the buttons now
                app.show_selected()
            return None
        if outcome == "bookmarked":  # ❤️: the parent's own id comes back, no new task
            if task_id in app.watchlist:
                app.watchlist.mark_used(task_id, button.custom_id)
                app.save_soon()
            self._refresh([task_id])
            app.say(f"{button.name}: task {task_id} bookmarked (no new task).", title="Action")
            return None
        child = result.task_id
        self.adopt(task_id, button, child)
        if outcome == "modal":
            parent = app.tasks.get(task_id)
            app.say(f"{button.name}: task {child} waits for its prompt (MODAL).", title="Action")
            self.open_modal(child, button.kind, parent.shown_prompt if parent else "")
        elif outcome == "exists":
            app.say(f"{button.name} was pressed before: task {child} (selected).", title="Action")
        elif outcome == "queued":
            app.say(
                f"{button.name} on {short_id(task_id)}: task {child}, {queue_note(result)}.",
                title="Action",
            )
        else:
            app.say(f"{button.name} on {short_id(task_id)}: new task {child}.", title="Action")
        return child

    def adopt(self, parent_id: str, button: Button, child: str) -> None:
        """Watch the child under its parent, mark the button used, select the child."""
        app = self.app
        app.add_ids([child], parent=parent_id)  # tracks it, saves soon, polls soon
        if parent_id in app.watchlist:
            app.watchlist.mark_used(parent_id, button.custom_id)
            app.save_soon()
        self.reveal(child)
        app.table.select(child)
        app.table.focus()
        self._refresh([parent_id, child])

    # --- MODAL ------------------------------------------------------------------------------

    def action_finish_modal(self) -> None:
        """m: the prompt dialog for the selected MODAL task."""
        app = self.app
        task_id, task = app.selected_id, app.selected_task
        if task_id is None:
            return
        if task is None or task.status is not Status.MODAL:
            self.app.say(
                "Only a task waiting in MODAL takes a prompt (Custom Zoom, Vary (Region)).",
                severity="warning",
            )
            return
        parent = app.parent_of(task_id) or app.board.server_parent(task_id)
        prompt = task.prompt
        if not prompt and parent in app.tasks:
            prompt = app.tasks[parent].prompt
        kind = kinds.modal_kind(task, self._pressed_for(task, parent))
        self.open_modal(task_id, dialog_kind(kind), prompt)

    def _pressed_for(self, task: Task, parent: str) -> str | None:
        """The customId pressed on the parent that made this MODAL task, from what the
        watchlist recorded as used (saved, so it works after a restart): the task's own
        customId when it names a modal button, else the parent's modal buttons used, if they
        agree on the kind."""
        if task.custom_id.startswith(_MODAL_PREFIXES):
            return task.custom_id
        entry = self.app.watchlist.get(parent) if parent else None
        used = [c for c in (entry.used if entry else ()) if c.startswith(_MODAL_PREFIXES)]
        prefixes = {c.split("::")[1] for c in used}
        return used[-1] if len(prefixes) == 1 else None

    def open_modal(self, task_id: str, kind: str, prompt: str) -> None:
        """The prompt dialog; `kind` is modal_prompt's CUSTOM_ZOOM, INPAINT or "" (unknown)."""

        def answered(answer: ModalAnswer | None) -> None:
            if answer is None:
                self.app.say(
                    f"Task {task_id} still waits (MODAL); press m on it to send its prompt.",
                    severity="warning",
                )
                return
            self._send_modal(task_id, answer)

        self.app.push_screen(ModalPromptScreen(task_id, kind, prompt), callback=answered)

    def _send_modal(self, task_id: str, answer: ModalAnswer) -> None:
        key = (task_id, "modal")
        if key in self._sending:
            self.app.say("That prompt is being sent already.", severity="warning")
            return
        self._sending.add(key)
        self.app.run_worker(
            self._modal(task_id, answer), name="modal", group="action", exit_on_error=False
        )

    async def _modal(self, task_id: str, answer: ModalAnswer) -> None:
        app = self.app
        try:
            try:
                result = await app.client.submit_modal(
                    task_id, answer.prompt, mask_base64=answer.mask_base64
                )
            except MjError as exc:
                self.app.say(
                    f"The prompt for task {task_id} was not sent: {exc}",
                    title="Modal failed",
                    severity="error",
                )
                return
            except Exception as exc:
                self.app.say(
                    f"The prompt for task {task_id} failed: {type(exc).__name__}",
                    title="Modal failed",
                    severity="error",
                )
                return
        finally:
            self._sending.discard((task_id, "modal"))
        problem = answer_problem(result)
        if problem:
            self.app.say(
                f"Task {task_id}: {problem}. It still waits; press m to try again.",
                title="Modal refused",
                severity="error",
            )
            return
        started = result.task_id or task_id
        if started != task_id and started not in app.watchlist:
            app.add_ids([started], parent=task_id)
        app.poller.wake([task_id, started])
        if app.auto_poll and not app.poller.paused:
            app.poll()
        note = queue_note(result)
        self.app.say(
            f"Prompt sent: task {started} starts{', ' + note if note else ''}.", title="Modal"
        )

    # --- copy -------------------------------------------------------------------------------

    def action_copy_as(self) -> None:
        """C: choose how to copy the highlighted button (customId, JSON body, curl line)."""
        app = self.app
        task_id = app.selected_id
        button = app.buttons.selected_button
        if task_id is None or button is None:
            self.app.say("This task has no buttons (yet).", severity="warning")
            return
        api = app.config.api
        formats = copy_formats(
            task_id, button.custom_id, base_url=api.base_url, key_env=api.key_env, auth=api.auth
        )
        choices: list[tuple[Text | str, object]] = []
        for name, value in formats:
            label = Text(name, style="bold")
            label.append("\n  " + one_line(value, 100), style="grey62")
            choices.append((label, (name, value)))
        title = Text(f"Copy {button.name} of task {task_id} as", style="bold")

        def picked(choice: tuple[str, str] | None) -> None:
            if choice is not None:
                app.copy_value(f"{button.name} {choice[0]}", choice[1])

        app.push_screen(ChoiceScreen(title, choices), callback=picked)

    # --- triage -----------------------------------------------------------------------------

    def action_next_triage(self) -> None:
        """n: the next finished task with no button used and not dismissed."""
        app = self.app
        entries = app.watchlist.entries
        order = self._order_through_folds()
        target = next_to_triage(order, app.selected_id, app.tasks, {e.id: e for e in entries})
        if target is None:
            current = app.selected_id
            waits = current is not None and waits_for_triage(
                app.tasks.get(current), app.watchlist.get(current)
            )
            self.app.say(
                "Nothing else to triage."
                if waits
                else "Nothing to triage: every finished task was acted on or dismissed."
            )
            return
        self.action_select_task(target)

    def _order_through_folds(self) -> list[str]:
        """The table's order (its sort and filter), folded children included after their
        parent: `n` unfolds what it lands on."""
        app = self.app
        children: dict[str, list[str]] = {}
        for entry in app.watchlist.entries:
            if entry.parent:
                children.setdefault(entry.parent, []).append(entry.id)
        order: list[str] = []
        seen: set[str] = set()
        for row in app.rows:
            stack = [row.id]
            while stack:
                task_id = stack.pop()
                if task_id in seen:
                    continue
                seen.add(task_id)
                order.append(task_id)
                if task_id in app.collapsed or task_id != row.id:
                    stack.extend(reversed(children.get(task_id, [])))
        return order

    def action_toggle_dismissed(self) -> None:
        """x: dismiss the selected task (kept in the watchlist, marked done), or undo."""
        app = self.app
        task_id = app.selected_id
        entry = app.watchlist.get(task_id) if task_id else None
        if task_id is None or entry is None:
            return
        dismissed = not entry.dismissed
        app.watchlist.set_dismissed(task_id, dismissed)
        app.save_soon()
        self._refresh([task_id])
        if dismissed:
            self.app.say(f"Dismissed {task_id} (x again undoes).", timeout=2)
        else:
            self.app.say(f"{task_id} is back in triage.", timeout=2)

    # --- rows and lineage -------------------------------------------------------------------

    def decorate_row(self, task_id: str, cells: dict[str, Text]) -> dict[str, Text]:
        """✓ after the status of a handled task; a dismissed task's row is dimmed."""
        entry = self.app.watchlist.get(task_id)
        if not triaged(self.app.tasks.get(task_id), entry):
            return cells
        status = cells["status"].copy()
        status.append_text(triage_mark(used=bool(entry and entry.used), dismissed=entry.dismissed))
        cells = {**cells, "status": status}
        if entry is not None and entry.dismissed:
            cells = {key: _dimmed(value) for key, value in cells.items()}
        return cells

    def action_jump_parent(self) -> None:
        """h: select the selected task's parent."""
        app = self.app
        task_id = app.selected_id
        parent = app.parent_of(task_id) if task_id else ""
        if not parent:
            self.app.say("This task has no parent (it was added by id).", severity="warning")
            return
        self.action_select_task(parent)


def _dimmed(text: Text) -> Text:
    dim = text.copy()
    dim.stylize("dim")
    return dim
