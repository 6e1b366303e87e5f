"""Planning batch moves, with no I/O: which button each task has, which tasks lack it, which
were pressed already; which failed or stalled tasks to retry, and with what prompt.

A button is named the way a user says it: its label ("U1"), the name mjdash derives from the
customId ("Upscale (Subtle)", "Zoom Out 2x"), or the customId itself. "All four" is U1-U4.
The network side (paced submission, results, cancel) is mjdash.net.batch_press.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from mjdash.model.insight import StallTracker
from mjdash.model.task import Button, Status, Task, clean

ALL_FOUR = ("U1", "U2", "U3", "U4")
ALL_FOUR_WORDS = frozenset({"all four", "all-four", "u1-u4", "u1-4"})
DEFAULT_CONFIRM_OVER = 20
RETRYABLE = frozenset({Status.FAILURE, Status.CANCEL})
# A retry is a new imagine: right for a grid, wrong for a button's child (a failed upscale is
# pressed again on its parent, not re-rendered as a grid). "" : a server that sent no action.
RETRY_ACTIONS = frozenset({"IMAGINE", "REROLL", ""})

# Why a task has no job in a move (the confirm shows these).
NOT_FETCHED = "not fetched"
NOT_FINISHED = "not finished"
FAILED = "failed"  # a failed or cancelled task has no buttons to press (retry it instead)
NO_SUCH_BUTTON = "no such button"
# A finished task with no buttons at all: a server that sends none (novicezk's
# midjourney-proxy v2 has no /submit/action), or a kind that has none.
NO_BUTTONS = "no buttons"
ALREADY_PRESSED = "already pressed"
OPENS_DIALOG = "opens a dialog (press it alone)"
BOT_TYPES = frozenset({"MID_JOURNEY", "NIJI_JOURNEY"})


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


def find_button(task: Task, wanted: str) -> Button | None:
    """The task's button called `wanted`: its customId exactly, else its derived name or label
    (case and spacing ignored). None when the task has no such button."""
    wanted = wanted.strip()
    if not wanted:
        return None
    for button in task.buttons:
        if button.custom_id == wanted:
            return button
    folded = _folded(wanted)
    for button in task.buttons:
        if _folded(button.name) == folded:
            return button
    for button in task.buttons:
        if button.label and _folded(button.label) == folded:
            return button
    return None


def expand_buttons(wanted: Sequence[str]) -> list[str]:
    """The names asked for, with "all four" (or "U1-U4") read as U1, U2, U3, U4; in order,
    each once."""
    names: list[str] = []
    for name in wanted:
        parts = ALL_FOUR if _folded(name) in ALL_FOUR_WORDS else (name.strip(),)
        names += [part for part in parts if part and part not in names]
    return names


@dataclass(frozen=True)
class Press:
    """One job of a move: press `custom_id` on `task_id`; `button` is the name shown."""

    task_id: str
    custom_id: str
    button: str


@dataclass(frozen=True)
class Skip:
    """A task (and the button asked for) that gets no job, and why."""

    task_id: str
    button: str
    reason: str


@dataclass(frozen=True)
class PressPlan:
    presses: tuple[Press, ...]
    lacking: tuple[Skip, ...]  # not finished, not fetched, or no such button
    already: tuple[Skip, ...]  # pressed before (the watchlist's ✓), skipped unless `again`

    @property
    def count(self) -> int:
        return len(self.presses)


def plan_press(
    task_ids: Iterable[str],
    tasks: Mapping[str, Task | None],
    wanted: Sequence[str],
    used: Callable[[str], Collection[str]] = lambda _task_id: (),
    *,
    again: bool = False,
) -> PressPlan:
    """For each task (in order) and each button name: a press, or why there is none.

    `used(task_id)` gives the customIds already pressed on a task (the watchlist's `used`);
    those are skipped unless `again`. A task not finished (SUCCESS) cannot be pressed: the
    server refuses, so it is listed as lacking rather than sent.
    """
    presses: list[Press] = []
    lacking: list[Skip] = []
    already: list[Skip] = []
    names = expand_buttons(wanted)
    for task_id in dict.fromkeys(task_ids):
        task = tasks.get(task_id)
        for name in names:
            if task is None:
                lacking.append(Skip(task_id, name, NOT_FETCHED))
                continue
            if task.status is not Status.SUCCESS:
                reason = FAILED if task.status in RETRYABLE else NOT_FINISHED
                lacking.append(Skip(task_id, name, reason))
                continue
            button = find_button(task, name)
            if button is None:
                reason = NO_SUCH_BUTTON if task.buttons else NO_BUTTONS
                lacking.append(Skip(task_id, name, reason))
                continue
            if button.opens_modal:  # Custom Zoom, Vary (Region): a prompt or mask per task
                lacking.append(Skip(task_id, button.name, OPENS_DIALOG))
                continue
            if not again and button.custom_id in used(task_id):
                already.append(Skip(task_id, button.name, ALREADY_PRESSED))
                continue
            presses.append(Press(task_id, button.custom_id, button.name))
    return PressPlan(tuple(presses), tuple(lacking), tuple(already))


def _count(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def press_question(plan: PressPlan, names: Sequence[str], pace: float) -> str:
    """The confirm's sentence: "press U1: 20 jobs on 18 tasks, 1 s apart (2 lack it: 1 not
    finished, 1 no such button)". Shared by the command line and the dashboard."""
    tasks = len({p.task_id for p in plan.presses})
    shown = ", ".join(clean(name, 40, single_line=True) for name in names)
    text = f"press {shown}: {_count(plan.count, 'job')} on {_count(tasks, 'task')}"
    text += f", {pace:g} s apart" if pace > 0 else ", no wait between them"
    if plan.lacking:
        reasons: dict[str, set[str]] = {}
        for skip in plan.lacking:
            reasons.setdefault(skip.reason, set()).add(skip.task_id)
        why = ", ".join(f"{len(ids)} {reason}" for reason, ids in reasons.items())
        lacking = len({s.task_id for s in plan.lacking})
        text += f" ({lacking} lack{'s' if lacking == 1 else ''} it: {why})"
    if plan.already:  # said in the sentence: their lines are often cut off below the lacking
        text += f", {len(plan.already)} pressed before (skipped)"
    return text


def needs_typed_confirm(count: int, confirm_over: int = DEFAULT_CONFIRM_OVER) -> bool:
    """More than `confirm_over` jobs in one move: the number must be typed to confirm."""
    return count > confirm_over


def is_grid(task: Task) -> bool:
    """A finished task with the four upscale buttons (U1-U4)."""
    if task.status is not Status.SUCCESS:
        return False
    return all(find_button(task, name) is not None for name in ALL_FOUR)


COPY_KINDS = ("ids", "custom_ids", "prompts")


def copy_lines(
    task_ids: Iterable[str], tasks: Mapping[str, Task | None], kind: str, button: str = ""
) -> list[str]:
    """What "copy" puts on the clipboard for marked tasks, one per line: their ids, the
    customId of `button` (tasks lacking it are left out), or their prompts (on one line each)."""
    if kind not in COPY_KINDS:
        raise ValueError(f"kind must be one of {COPY_KINDS}")
    lines: list[str] = []
    for task_id in dict.fromkeys(task_ids):
        if kind == "ids":
            lines.append(task_id)
            continue
        task = tasks.get(task_id)
        if task is None:
            continue
        if kind == "prompts":
            prompt = clean(task.prompt, single_line=True).strip()
            if prompt:
                lines.append(prompt)
        elif (found := find_button(task, button)) is not None:
            lines.append(found.custom_id)
    return lines


# --- retry ----------------------------------------------------------------------------------

_OPTION_RE = re.compile(r"(?:^|\s)--([A-Za-z][\w-]*)((?:\s+(?!--)[^\s]+)*)")
# Options whose value runs to the next option; flags that take none; others take one word.
_MULTI_WORD = frozenset({"no"})
_FLAGS = frozenset({"fast", "relax", "turbo", "draft", "tile", "video", "hd", "test", "testp"})


def prompt_options(prompt: str) -> list[tuple[str, str]]:
    """The `--name value` options of a prompt, in order: [("ar", "3:2"), ("fast", "")]."""
    options = []
    for match in _OPTION_RE.finditer(prompt):
        name = match[1].lower()
        words = match[2].split()
        if name in _FLAGS:
            words = []
        elif name not in _MULTI_WORD:
            words = words[:1]
        options.append((name, " ".join(words)))
    return options


def retry_prompt(task: Task) -> str:
    """The prompt to submit again: the server's final prompt when it gave one, else the prompt;
    options of the original prompt the final one lacks (the mode flags --fast / --relax /
    --turbo, --ar, --v, ...) are added back, so the retry renders the same way. "" when the
    task has no prompt (a blend, a describe)."""
    original = task.prompt.strip()
    final = task.final_prompt.strip()
    if not final:
        return original
    present = {name for name, _value in prompt_options(final)}
    missing = [
        f"--{name} {value}".rstrip()
        for name, value in prompt_options(original)
        if name not in present
    ]
    return " ".join([final, *missing])


@dataclass(frozen=True)
class Retry:
    """One retry job: submit `prompt` as a new imagine, linked to `task_id`."""

    task_id: str
    prompt: str
    bot_type: str = "MID_JOURNEY"


@dataclass(frozen=True)
class RetryPlan:
    retries: tuple[Retry, ...]
    skipped: tuple[Skip, ...]  # button is "" here; reason says why

    @property
    def count(self) -> int:
        return len(self.retries)


def plan_retry(
    task_ids: Iterable[str],
    tasks: Mapping[str, Task | None],
    stalled: Collection[str] = (),
    retried: Collection[str] = (),
    *,
    again: bool = False,
) -> RetryPlan:
    """Failed (or cancelled) and stalled tasks get a retry; others are skipped with a reason.

    `retried`: tasks that already have a retry in the watchlist, skipped unless `again`.
    """
    retries: list[Retry] = []
    skipped: list[Skip] = []
    for task_id in dict.fromkeys(task_ids):
        task = tasks.get(task_id)
        if task is None:
            skipped.append(Skip(task_id, "", NOT_FETCHED))
            continue
        if task.status not in RETRYABLE and task_id not in stalled:
            skipped.append(Skip(task_id, "", f"{task.status_text}, not failed or stalled"))
            continue
        if task.action.upper() not in RETRY_ACTIONS:
            reason = f"{task.action}, not a grid: press its button on the parent again"
            skipped.append(Skip(task_id, "", reason))
            continue
        if not again and task_id in retried:
            skipped.append(Skip(task_id, "", "retried already"))
            continue
        prompt = retry_prompt(task)
        if not prompt:
            skipped.append(Skip(task_id, "", f"no prompt to submit again ({task.action or '?'})"))
            continue
        bot_type = task.bot_type if task.bot_type in BOT_TYPES else "MID_JOURNEY"
        retries.append(Retry(task_id, prompt, bot_type))
    return RetryPlan(tuple(retries), tuple(skipped))


def stalled_ids(
    tasks: Iterable[Task],
    history: Mapping[str, tuple[float, tuple[str, int | None]]],
    now: float,
    *,
    after: float,
    queue_after: float,
) -> set[str]:
    """The tasks the dashboard would flag as stalled now, by the dashboard's own rule (a
    StallTracker fed the same history: for each id, since when it looked the same)."""
    tracker = StallTracker(after, queue_after)
    for task_id, (when, sig) in history.items():
        tracker.restore(task_id, when, sig)
    for task in tasks:
        tracker.observe(task, now)
    tracker.check(now)
    return set(tracker.stalled)
