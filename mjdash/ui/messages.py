"""Messages the app sends itself; tests record them with `run_test(message_hook=...)`."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message

from mjdash.net.poller import PollResult


@dataclass
class TasksPolled(Message):
    """One poll finished: the tasks it brought, and the poller's state after it."""

    result: PollResult


@dataclass
class TasksFinished(Message):
    """Tasks reached SUCCESS, FAILURE, CANCEL or MODAL in the last poll (one digest per poll),
    plus tasks newly flagged stalled and, once, "every watched task is finished" (`complete`)."""

    done: list[str]
    failed: list[str]
    modal: list[str]
    stalled: list[str] = field(default_factory=list)
    complete: bool = False
    total: int = 0  # watched tasks, for the "batch complete" line
    failed_total: int = 0
