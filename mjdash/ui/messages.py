"""Messages the app sends itself; tests record them with `run_test(message_hook=...)`."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from mjdash.poller import PollResult


@dataclass
class TasksPolled(Message):
    """One poll finished: the tasks it brought, and the poller's state after it."""

    result: PollResult


@dataclass
class TasksFinished(Message):
    """Tasks reached SUCCESS, FAILURE, CANCEL or MODAL in the last poll (one digest per poll)."""

    done: list[str]
    failed: list[str]
    modal: list[str]
