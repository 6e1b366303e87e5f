"""Submitting prompts (`mjdash submit`) and putting submit answers into words. No UI here.

`submit_prompts` sends one /mj/submit/imagine per prompt, paced (start to start), and reports
each outcome as it lands. A banned prompt (24), a full queue (23) or any other refusal is that
prompt's outcome and the rest continue; a rejected key or an unreachable server stops the batch
(`SubmitAborted`), since every later prompt would fail the same way.

`answer_problem` is shared with the dashboard's button presses: one wording for every code.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from mjdash.model.task import clean
from mjdash.net.client import AuthError, MjError, RateLimited, SubmitResult, TransientError

DEFAULT_PACE = 1.0
RATE_LIMIT_RETRIES = 2
MAX_RATE_LIMIT_WAIT = 60.0
MAX_PROMPT = 8000
# Answer codes (docs/api.md, "Endpoints mjdash uses": the submit answer).
OK, NOT_FOUND, VALIDATION, SYSTEM_ERROR = 1, 3, 4, 9
EXISTS_OR_MODAL, QUEUED, QUEUE_FULL, BANNED = 21, 22, 23, 24

_CODE_WORDS = {
    NOT_FOUND: "not found",
    VALIDATION: "validation error",
    SYSTEM_ERROR: "system error",
    QUEUE_FULL: "queue full, try again later",
}


def answer_problem(result: SubmitResult) -> str | None:
    """None for an accepted submit (1, 21, 22 with a task id), else one short line.

    "24 banned: badword", "23 queue full, try again later", "4 validation error: <server text>".
    Server text in the description was cleaned by the client (one line, no controls).
    """
    if result.ok and result.task_id:
        return None
    code = result.code
    description = clean(result.description, 200, single_line=True)
    if result.refused_button:
        return "this server does not take this button (unknown_action); copy its customId instead"
    if result.ok:
        return f"{code} {description or 'accepted'}, but the server sent no task id"
    if code == BANNED:
        word = result.banned_word
        return f"24 banned: {clean(word, 80, single_line=True)}" if word else "24 banned prompt"
    if code == QUEUE_FULL:
        return f"23 {_CODE_WORDS[QUEUE_FULL]}"
    words = _CODE_WORDS.get(code)
    if words is None:
        shown = f"code {code}" if code else "no answer code"
        return f"{shown}: {description}" if description else f"{shown}: unexpected answer"
    return f"{code} {words}: {description}" if description else f"{code} {words}"


def action_outcome(result: SubmitResult, parent_id: str, *, opens_modal: bool = False) -> str:
    """What a button press did, for the words and whether a child is watched:

    "refused" (see answer_problem), "bookmarked" (❤️: code 1 with the parent's own id, no new
    task: never report "new task <parent>"), "modal" (21 from a button that opens a modal:
    `Button.opens_modal`), "exists" (21: pressed before), "queued" (22) or "new".
    """
    if answer_problem(result) is not None:
        return "refused"
    if result.bookmarked or result.task_id == parent_id:
        return "bookmarked"
    if result.code == EXISTS_OR_MODAL:
        return "modal" if opens_modal else "exists"
    if result.code == QUEUED:
        return "queued"
    return "new"


def queue_note(result: SubmitResult) -> str:
    """'queued, 3 ahead' for code 22, else ''."""
    if result.code != QUEUED:
        return ""
    ahead = result.queue_position
    return f"queued, {ahead} ahead" if ahead is not None else "queued"


def read_prompts(text: str) -> list[str]:
    """One prompt a line; blank lines are skipped, surrounding spaces dropped."""
    prompts = []
    for line in text.lstrip("\ufeff").splitlines():
        line = line.strip()
        if line:
            prompts.append(line)
    return prompts


@dataclass(frozen=True)
class Outcome:
    """What happened to one prompt."""

    prompt: str
    task_id: str | None = None
    code: int | None = None
    note: str = ""  # "queued, 3 ahead"
    error: str = ""  # "24 banned: badword"

    @property
    def ok(self) -> bool:
        return self.task_id is not None and not self.error

    def line(self) -> str:
        """`<id>  <prompt>`, `<id>  (queued, 3 ahead)  <prompt>` or `error (...)  <prompt>`."""
        prompt = clean(self.prompt, 300, single_line=True)
        if not self.ok:
            return f"error ({self.error})  {prompt}"
        if self.note:
            return f"{self.task_id}  ({self.note})  {prompt}"
        return f"{self.task_id}  {prompt}"


class SubmitAborted(Exception):
    """The batch stopped: `kind` is "key" or "unreachable"; `outcomes` those done so far."""

    def __init__(self, message: str, kind: str, outcomes: list[Outcome]) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.outcomes = outcomes


class _Imagine(Protocol):
    async def submit_imagine(self, prompt: str) -> SubmitResult: ...


async def _submit_one(
    client: _Imagine, prompt: str, sleep: Callable[[float], Awaitable[None]], pace: float
) -> Outcome:
    """One prompt; 429 is retried (nothing was taken), other errors are the prompt's outcome."""
    if len(prompt) > MAX_PROMPT:
        return Outcome(prompt, error=f"prompt longer than {MAX_PROMPT} characters; not sent")
    for attempt in range(RATE_LIMIT_RETRIES + 1):
        try:
            result = await client.submit_imagine(prompt)
        except RateLimited as exc:
            if attempt == RATE_LIMIT_RETRIES:
                return Outcome(prompt, error=f"rate limited: {exc}")
            wait = exc.retry_after if exc.retry_after is not None else max(pace, 2.0) * 2**attempt
            await sleep(min(wait, MAX_RATE_LIMIT_WAIT))
            continue
        problem = answer_problem(result)
        if problem:
            return Outcome(prompt, code=result.code, error=problem)
        return Outcome(prompt, result.task_id, result.code, note=queue_note(result))
    raise AssertionError("unreachable")  # pragma: no cover


async def submit_prompts(
    client: _Imagine,
    prompts: Iterable[str],
    *,
    pace: float = DEFAULT_PACE,
    report: Callable[[Outcome], None] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[Outcome]:
    """Submit each prompt, `pace` seconds apart (start to start); report and return outcomes.

    Raises SubmitAborted when the key is rejected or the server cannot be reached.
    """
    outcomes: list[Outcome] = []
    last_start: float | None = None
    for prompt in prompts:
        if last_start is not None and pace > 0:
            wait = last_start + pace - clock()
            if wait > 0:
                await sleep(wait)
        last_start = clock()
        try:
            outcome = await _submit_one(client, prompt, sleep, pace)
        except AuthError as exc:
            raise SubmitAborted(str(exc), "key", outcomes) from None
        except TransientError as exc:
            if exc.status is None:  # not reached, or it went silent: the rest would fail too
                text, done = str(exc), len(outcomes)
                # A refused connection took nothing; silence or a cut after sending may have.
                maybe = "cannot connect" not in text and "did not accept a connection" not in text
                if maybe:
                    shown = clean(prompt, 60, single_line=True)
                    message = f"{text}; stopped: {shown!r} may have been taken (check first)"
                elif done:
                    message = f"{text}; stopped after {_plural(done, 'prompt')}"
                else:
                    message = f"{text}; nothing was submitted"
                raise SubmitAborted(message, "unreachable", outcomes) from None
            outcome = Outcome(prompt, error=str(exc))
        except MjError as exc:
            outcome = Outcome(prompt, error=str(exc))
        outcomes.append(outcome)
        if report is not None:
            report(outcome)
    return outcomes


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
