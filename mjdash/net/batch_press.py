"""Batch moves on the network, free of any UI: press one button across many tasks, or submit
failed tasks' prompts again, paced like `mjdash submit` (start to start).

`run_jobs` sends the jobs one after another and reports each result as it lands (the new task
id, or the refusal with its code). A refusal (23 queue full, 24 banned, 9, ...) is that job's
result and the rest go on; a rejected key or an unreachable server stops the batch
(`BatchAborted`, with the jobs not sent), since every later job would fail the same way.
Setting `cancel` (an asyncio.Event) stops what is not sent yet; a job already sent still
reports its answer. `record_result` puts a result into the watchlist (child under its parent,
a retry linked to the task it replaces).

Planning (which tasks have the button, what to retry) is mjdash.model.moves; the sending
itself (pacing, 429 waits, when to stop) is net/submit.py's `send_paced`, as `mjdash submit`'s.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from mjdash.model.moves import Press, Retry
from mjdash.model.task import clean
from mjdash.net.client import ACTION_PATH, IMAGINE_PATH, SubmitResult
from mjdash.net.submit import DEFAULT_PACE, Sent, Sleep, Stopped, send_paced
from mjdash.store.watchlist import Watchlist

RETRY_BUTTON = "retry"  # the `button` of a retry job in lines and JSON


@dataclass(frozen=True)
class Job:
    """One request of a move: a press (`custom_id` on `parent`) or a retry (`prompt` again)."""

    parent: str
    button: str  # the name shown: "U1", "Upscale (Subtle)", or "retry"
    custom_id: str = ""
    prompt: str = ""
    bot_type: str = "MID_JOURNEY"

    @property
    def is_retry(self) -> bool:
        return not self.custom_id

    def request(self) -> tuple[str, str, dict[str, Any]]:
        """(method, path, JSON body) as sent: what --dry-run prints. Holds no key."""
        if self.is_retry:
            return "POST", IMAGINE_PATH, {"prompt": self.prompt, "botType": self.bot_type}
        return "POST", ACTION_PATH, {"taskId": self.parent, "customId": self.custom_id}


def press_jobs(presses: Iterable[Press]) -> list[Job]:
    return [Job(p.task_id, p.button, custom_id=p.custom_id) for p in presses]


def retry_jobs(retries: Iterable[Retry]) -> list[Job]:
    return [Job(r.task_id, RETRY_BUTTON, prompt=r.prompt, bot_type=r.bot_type) for r in retries]


@dataclass(frozen=True)
class JobResult(Sent):
    """What happened to one job: `task_id` the new task, or `error` (with the answer `code`)."""

    job: Job

    def line(self) -> str:
        """`<new id>  <parent>  <button>`, or `error (<refusal>)  <parent>  <button>`."""
        button = clean(self.job.button, 80, single_line=True)
        if not self.ok:
            return f"error ({self.error})  {self.job.parent}  {button}"
        note = f"  ({self.note})" if self.note else ""
        return f"{self.task_id}  {self.job.parent}  {button}{note}"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "task_id": self.task_id,
            "parent": self.job.parent,
            "button": self.job.button,
            "ok": self.ok,
            "code": self.code,
        }
        if self.job.custom_id:
            data["custom_id"] = self.job.custom_id
        else:
            data["prompt"] = self.job.prompt
            data["retry_of"] = self.job.parent
        if self.note:
            data["note"] = self.note
        if self.error:
            data["error"] = self.error
        return data


@dataclass
class BatchRun:
    """The results in order, and the jobs a cancel kept from being sent."""

    results: list[JobResult] = field(default_factory=list)
    unsent: list[Job] = field(default_factory=list)

    @property
    def refused(self) -> int:
        return sum(1 for r in self.results if not r.ok)

    @property
    def cancelled(self) -> bool:
        return bool(self.unsent)


class BatchAborted(Exception):
    """The move stopped: `kind` "key" or "unreachable"; `run` holds the results so far and the
    jobs not sent."""

    def __init__(self, message: str, kind: str, run: BatchRun) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.run = run


class _Submitter(Protocol):
    async def submit_action(self, task_id: str, custom_id: str) -> SubmitResult: ...

    async def submit_imagine(self, prompt: str, *, bot_type: str = ...) -> SubmitResult: ...


async def run_jobs(
    client: _Submitter,
    jobs: Iterable[Job],
    *,
    pace: float = DEFAULT_PACE,
    report: Callable[[JobResult], None] | None = None,
    sending: Callable[[Job, int], None] | None = None,
    cancel: asyncio.Event | None = None,
    sleep: Sleep = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> BatchRun:
    """Send each job, `pace` seconds apart (start to start); `report` each result as it lands.
    `sending(job, index)` is called just before a job goes out (for "sending 4 of 20").

    Returns the results and, when `cancel` was set, the jobs not sent. Raises BatchAborted
    when the key is rejected or the server cannot be reached.
    """

    async def send(job: Job) -> SubmitResult:
        if job.is_retry:
            return await client.submit_imagine(job.prompt, bot_type=job.bot_type)
        return await client.submit_action(job.parent, job.custom_id)

    try:
        results, unsent = await send_paced(
            list(jobs),
            send,
            lambda job, sent: JobResult(job, **sent.fields()),
            prompt_of=lambda job: job.prompt if job.is_retry else None,
            describe=lambda job: f"{job.button} on {job.parent}",
            unit="job",
            pace=pace,
            report=report,
            sending=sending,
            cancel=cancel,
            sleep=sleep,
            clock=clock,
        )
    except Stopped as stop:
        raise BatchAborted(stop.message, stop.kind, BatchRun(stop.results, stop.unsent)) from None
    return BatchRun(results, unsent)


def record_result(watchlist: Watchlist, result: JobResult) -> bool:
    """Put a job's new task into the watchlist under its parent (added too when it was not
    watched, so the child shows under it). A press marks the button as used (the ✓); a retry
    is linked to the old task (`retry_of`), which leaves triage (dismissed).

    False when there is nothing to record (a refusal) or an id is not a task id."""
    job = result.job
    if not result.ok or result.task_id is None:
        return False
    try:
        watchlist.add([job.parent])
        if job.is_retry:
            watchlist.add([result.task_id], parent=job.parent, retry_of=job.parent)
            watchlist.set_dismissed(job.parent, True)
        else:
            watchlist.add([result.task_id], parent=job.parent)
            watchlist.mark_used(job.parent, job.custom_id)
    except ValueError:  # an id of another shape than 16-20 digits: not watchable
        return False
    return True
