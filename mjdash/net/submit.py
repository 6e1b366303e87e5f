"""Submitting prompts (`mjdash submit`) and putting submit answers into words. No UI here.

`submit_prompts` sends one /mj/submit/imagine per prompt, paced (start to start), and reports
each outcome as it lands. A banned prompt (24), a full queue (23) or any other refusal is that
prompt's outcome and the rest continue; a rejected key or an unreachable server stops the batch
(`SubmitAborted`), since every later prompt would fail the same way.

`answer_problem` is shared with the dashboard's button presses: one wording for every code.
`send_paced` (pacing, 429 waits, when to stop) is shared with the batch moves
(net/batch_press.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from mjdash.model.task import clean
from mjdash.net.client import AuthError, MjError, RateLimited, SubmitResult, TransientError

DEFAULT_PACE = 1.0
RATE_LIMIT_RETRIES = 2
MAX_RATE_LIMIT_WAIT = 60.0
MAX_PROMPT = 8000
# Answer codes (docs/api.md, "Endpoints mjdash uses": the submit answer).
OK, NOT_FOUND, VALIDATION, SYSTEM_ERROR = 1, 3, 4, 9
EXISTS_OR_MODAL, QUEUED, QUEUE_FULL, BANNED = 21, 22, 23, 24

T = TypeVar("T")  # what is sent: a prompt, a batch move's job
R = TypeVar("R")  # its result: an Outcome, a JobResult
Sleep = Callable[[float], Awaitable[None]]

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
    if code == SYSTEM_ERROR and _says_queue_full(description):  # trueai's full queue
        return f"9 {_CODE_WORDS[QUEUE_FULL]} ({description})"
    words = _CODE_WORDS.get(code)
    if words is None:
        shown = f"code {code}" if code else "no answer code"
        return f"{shown}: {description}" if description else f"{shown}: unexpected answer"
    return f"{code} {words}: {description}" if description else f"{code} {words}"


def _says_queue_full(description: str) -> bool:
    """trueai answers a full queue with code 9 "提交失败，队列已满" (docs/api.md, "How the real
    servers differ"), not 23: the words tell it from any other system error."""
    return "队列已满" in description or "queue is full" in description.casefold()


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


@dataclass(frozen=True, kw_only=True)
class Sent:
    """What one request got: the new task's id, or the refusal (`error`, with the answer's
    `code`). `mjdash submit`'s Outcome and a batch move's JobResult add what was sent."""

    task_id: str | None = None
    code: int | None = None
    note: str = ""  # "queued, 3 ahead"
    error: str = ""  # "24 banned: badword", "23 queue full, try again later"

    @property
    def ok(self) -> bool:
        return self.task_id is not None and not self.error

    def fields(self) -> dict[str, Any]:
        return {"task_id": self.task_id, "code": self.code, "note": self.note, "error": self.error}


@dataclass(frozen=True)
class Outcome(Sent):
    """What happened to one prompt."""

    prompt: str

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


async def submit_prompts(
    client: _Imagine,
    prompts: Iterable[str],
    *,
    pace: float = DEFAULT_PACE,
    report: Callable[[Outcome], None] | None = None,
    sleep: Sleep = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[Outcome]:
    """Submit each prompt, `pace` seconds apart (start to start); report and return outcomes.

    Raises SubmitAborted when the key is rejected or the server cannot be reached.
    """
    try:
        outcomes, _ = await send_paced(
            list(prompts),
            client.submit_imagine,
            lambda prompt, sent: Outcome(prompt, **sent.fields()),
            prompt_of=lambda prompt: prompt,
            describe=lambda prompt: repr(clean(prompt, 60, single_line=True)),
            unit="prompt",
            pace=pace,
            report=report,
            sleep=sleep,
            clock=clock,
        )
    except Stopped as stop:
        raise SubmitAborted(stop.message, stop.kind, stop.results) from None
    return outcomes


# --- sending paced requests: `mjdash submit` and the batch moves (net/batch_press.py) -------


class Stopped(Exception, Generic[T, R]):
    """The requests stopped: `kind` "key" or "unreachable"; the `results` so far and the
    items not sent (`unsent`)."""

    def __init__(self, message: str, kind: str, results: list[R], unsent: list[T]) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.results = results
        self.unsent = unsent


class _Cancelled(Exception):
    """The cancel came while a request waited out a 429: the request was not taken."""


async def send_paced(
    items: Sequence[T],
    request: Callable[[T], Awaitable[SubmitResult]],
    result: Callable[[T, Sent], R],
    *,
    prompt_of: Callable[[T], str | None],
    describe: Callable[[T], str],
    unit: str,
    pace: float = DEFAULT_PACE,
    report: Callable[[R], None] | None = None,
    sending: Callable[[T, int], None] | None = None,
    cancel: asyncio.Event | None = None,
    sleep: Sleep = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[list[R], list[T]]:
    """`request` each item, `pace` seconds apart (start to start); `report` each result (made
    by `result`) as it lands. A refusal is that item's result and the rest go on; a 429 is
    waited out and asked again (nothing was taken). `prompt_of(item)` is checked for length
    before sending (None: no prompt); `sending(item, index)` is called just before an item
    goes out ("sending 4 of 20").

    Returns the results and, when `cancel` was set, the items not sent. Raises Stopped when
    the key is rejected or the server cannot be reached (`describe(item)` names what may
    have been taken; `unit` counts what went out: "stopped after 3 prompts").
    """
    results: list[R] = []
    last_start: float | None = None

    async def pause(seconds: float) -> None:
        await _pause(seconds, sleep, cancel)

    for index, item in enumerate(items):
        if last_start is not None and pace > 0:
            wait = last_start + pace - clock()
            if wait > 0:
                await pause(wait)
        if cancel is not None and cancel.is_set():
            return results, list(items[index:])
        last_start = clock()
        if sending is not None:
            sending(item, index)
        try:
            sent = await _send_one(request, item, prompt_of(item), pause, pace, cancel)
        except _Cancelled:
            return results, list(items[index:])
        except AuthError as exc:
            raise Stopped(str(exc), "key", results, list(items[index:])) from None
        except TransientError as exc:
            if exc.status is None:  # not reached, or it went silent: the rest would fail too
                refused = _was_refused(exc)
                message = _unreachable_message(exc, describe(item), len(results), unit)
                unsent = list(items[index if refused else index + 1 :])
                raise Stopped(message, "unreachable", results, unsent) from None
            sent = Sent(error=str(exc))
        except MjError as exc:
            sent = Sent(error=str(exc))
        results.append(result(item, sent))
        if report is not None:
            report(results[-1])
    return results, []


async def _send_one(
    request: Callable[[T], Awaitable[SubmitResult]],
    item: T,
    prompt: str | None,
    pause: Sleep,
    pace: float,
    cancel: asyncio.Event | None,
) -> Sent:
    """One request; 429 is retried (nothing was taken), other refusals are its result."""
    if prompt is not None and len(prompt) > MAX_PROMPT:
        return Sent(error=f"prompt longer than {MAX_PROMPT} characters; not sent")
    for attempt in range(RATE_LIMIT_RETRIES + 1):
        try:
            answer = await request(item)
        except RateLimited as exc:
            if attempt == RATE_LIMIT_RETRIES:
                return Sent(error=f"rate limited: {exc}")
            wait = exc.retry_after if exc.retry_after is not None else max(pace, 2.0) * 2**attempt
            await pause(min(wait, MAX_RATE_LIMIT_WAIT))
            if cancel is not None and cancel.is_set():
                raise _Cancelled from None
            continue
        problem = answer_problem(answer)
        if problem:
            return Sent(code=answer.code, error=problem)
        return Sent(task_id=answer.task_id, code=answer.code, note=queue_note(answer))
    raise AssertionError("unreachable")  # pragma: no cover


async def _pause(seconds: float, sleep: Sleep, cancel: asyncio.Event | None) -> None:
    """Sleep, but wake at once when `cancel` is set."""
    if cancel is None:
        await sleep(seconds)
        return
    sleeper = asyncio.ensure_future(sleep(seconds))
    waiter = asyncio.ensure_future(cancel.wait())
    try:
        await asyncio.wait({sleeper, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pending in (sleeper, waiter):
            pending.cancel()


def _was_refused(exc: TransientError) -> bool:
    """A refused connection took nothing; silence or a cut after sending may have."""
    text = str(exc)
    return "cannot connect" in text or "did not accept a connection" in text


def _unreachable_message(exc: TransientError, what: str, done: int, unit: str) -> str:
    text = str(exc)
    if not _was_refused(exc):
        return f"{text}; stopped: {what} may have been taken (check first)"
    if done:
        return f"{text}; stopped after {_plural(done, unit)}"
    return f"{text}; nothing was submitted"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
