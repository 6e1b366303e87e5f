"""`mjdash submit`: paced imagine submits, per-prompt answers, the watchlist, exit codes.

In-process against the simulator for the batch logic; a few real `python -m mjdash submit`
runs for the command line.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mjdash.model.secret import Secret
from mjdash.net.client import MidjourneyClient, RateLimited, SubmitResult
from mjdash.net.submit import (
    Outcome,
    SubmitAborted,
    answer_problem,
    queue_note,
    read_prompts,
    submit_prompts,
)
from mjdash.store.watchlist import Watchlist

KEY = "sk-submit-test-31337"


class FakeTime:
    """A clock that only sleeping moves; records every sleep."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def client_for(sim, key: str = KEY) -> MidjourneyClient:
    return MidjourneyClient(sim.url, Secret(key), timeout=5.0)


# --- the batch ---------------------------------------------------------------------------------


async def test_a_banned_prompt_and_a_full_queue_are_reported_and_the_rest_continue(sim):
    time = FakeTime()
    prompts = ["a red fox", "a badword cat", "a boat --queue-full", "a heron --queued", "a koi"]
    seen: list[Outcome] = []
    async with client_for(sim) as client:
        outcomes = await submit_prompts(
            client, prompts, pace=1.0, report=seen.append, sleep=time.sleep, clock=time.clock
        )
    assert seen == outcomes and [o.prompt for o in outcomes] == prompts
    assert [o.ok for o in outcomes] == [True, False, False, True, True]
    assert outcomes[1].error == "24 banned: badword"
    assert outcomes[2].error.startswith("23 queue full")
    assert outcomes[3].note.startswith("queued, ") and outcomes[3].note.endswith(" ahead")
    for outcome in outcomes:
        if outcome.ok:
            assert sim.engine.status(outcome.task_id) is not None
    assert outcomes[1].line() == "error (24 banned: badword)  a badword cat"
    assert outcomes[0].line() == f"{outcomes[0].task_id}  a red fox"
    # One a second, start to start: the clock only moved by sleeping.
    assert time.sleeps == [1.0, 1.0, 1.0, 1.0]
    assert sim.stats()["routes"]["imagine"] == 5


async def test_pace_zero_does_not_wait(sim):
    time = FakeTime()
    async with client_for(sim) as client:
        outcomes = await submit_prompts(
            client, ["one", "two", "three"], pace=0, sleep=time.sleep, clock=time.clock
        )
    assert all(o.ok for o in outcomes) and time.sleeps == []


async def test_a_rejected_key_stops_the_batch(sim_factory):
    sim = sim_factory(key="the-right-key")
    async with client_for(sim, "a-wrong-key") as client:
        with pytest.raises(SubmitAborted) as caught:
            await submit_prompts(client, ["one", "two"], pace=0)
    assert caught.value.kind == "key" and caught.value.outcomes == []
    assert "COMETAPI_KEY" in caught.value.message
    # The first prompt, then once more with the other header style (a 401 takes nothing).
    assert sim.stats()["routes"]["imagine"] == 2


async def test_an_unreachable_server_stops_the_batch_and_says_nothing_was_taken():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with MidjourneyClient(f"http://127.0.0.1:{port}", Secret(KEY)) as client:
        with pytest.raises(SubmitAborted) as caught:
            await submit_prompts(client, ["one", "two"], pace=0)
    assert caught.value.kind == "unreachable"
    assert "nothing was submitted" in caught.value.message


async def test_rate_limits_are_waited_out_then_reported():
    time = FakeTime()

    class Limited:
        calls = 0

        async def submit_imagine(self, prompt: str) -> SubmitResult:
            self.calls += 1
            if prompt == "always" or self.calls == 1:
                raise RateLimited("rate limited by api.test", retry_after=7.0)
            return SubmitResult(1, "Submit success", "1773314942177684")

    client = Limited()
    outcomes = await submit_prompts(
        client, ["once", "always"], pace=1.0, sleep=time.sleep, clock=time.clock
    )
    assert outcomes[0].ok and outcomes[0].task_id == "1773314942177684"
    assert not outcomes[1].ok and "rate limited" in outcomes[1].error
    # 7 s for the first prompt's retry; pace already passed; 7 s twice for the second.
    assert time.sleeps == [7.0, 7.0, 7.0]


# --- answers and input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (SubmitResult(1, "Submit success", "1773314942177684"), None),
        (SubmitResult(21, "exists", "1773314942177684"), None),
        (SubmitResult(22, "queued", "1773314942177684", {"numberOfQueues": 2}), None),
        (
            SubmitResult(1, "Submit success", None),
            "1 Submit success, but the server sent no task id",
        ),
        (SubmitResult(3, "task_no_found", None), "3 not found: task_no_found"),
        (SubmitResult(4, "", None), "4 validation error"),
        (
            SubmitResult(9, "System error: no account", None),
            "9 system error: System error: no account",
        ),
        (SubmitResult(23, "队列已满", None), "23 queue full, try again later"),
        # trueai's full queue is a 9 with these words (docs/api.md, the servers table).
        (
            SubmitResult(9, "提交失败，队列已满", None),
            "9 queue full, try again later (提交失败，队列已满)",
        ),
        (SubmitResult(24, "x", None, {"bannedWord": "gore"}), "24 banned: gore"),
        (SubmitResult(24, "x", None), "24 banned prompt"),
        (SubmitResult(0, "", None), "no answer code: unexpected answer"),
        (SubmitResult(30, "busy", None), "code 30: busy"),
    ],
)
def test_answer_problem_words(answer, problem):
    assert answer_problem(answer) == problem


def test_queue_note_and_read_prompts():
    assert queue_note(SubmitResult(22, "", "1", {"numberOfQueues": "4"})) == "queued, 4 ahead"
    assert queue_note(SubmitResult(22, "", "1")) == "queued"
    assert queue_note(SubmitResult(1, "", "1")) == ""
    text = "\ufeffa cat --v 6\r\n\n   \n  a dog  \nlast line without newline"
    assert read_prompts(text) == ["a cat --v 6", "a dog", "last line without newline"]


# --- the command -------------------------------------------------------------------------------


def run(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MJDASH_")}
    full_env.pop("COMETAPI_KEY", None)
    for name in ("CONFIG", "DATA", "CACHE", "STATE"):
        full_env[f"XDG_{name}_HOME"] = str(home / name.lower())
    full_env.update(env)
    done = subprocess.run(
        [sys.executable, "-m", "mjdash", "submit", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=30,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert KEY not in done.stdout + done.stderr
    return done


def test_submit_file_with_a_banned_prompt_among_good_ones(sim, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a red fox in snow\n\na badword in a prompt\na paper boat --v 6.1\n")
    done = run(
        tmp_path,
        "--file",
        str(prompts),
        "--pace",
        "0.05",
        "--label",
        "batch 1",
        COMETAPI_KEY=KEY,
        MJDASH_BASE_URL=sim.url,
    )
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3
    fox, banned, boat = lines
    assert banned == "error (24 banned: badword)  a badword in a prompt"
    fox_id, fox_prompt = fox.split("  ", 1)
    boat_id, boat_prompt = boat.split("  ", 1)
    assert (fox_prompt, boat_prompt) == ("a red fox in snow", "a paper boat --v 6.1")
    assert "2 tasks submitted, 1 refused" in done.stderr
    watchlist = Watchlist.load(tmp_path / "data" / "mjdash" / "watchlist.toml")
    assert watchlist.ids == [fox_id, boat_id]
    assert watchlist.get(fox_id).label == "batch 1"
    assert sim.engine.task_json(boat_id)["prompt"] == "a paper boat --v 6.1"


def test_submit_prompts_as_arguments_all_ok_exit_0(sim, tmp_path):
    done = run(tmp_path, "one", "two", "--pace", "0", COMETAPI_KEY=KEY, MJDASH_BASE_URL=sim.url)
    assert done.returncode == 0, done.stderr
    assert [line.split("  ")[1] for line in done.stdout.splitlines()] == ["one", "two"]


def test_submit_exit_codes(sim, tmp_path):
    url = {"MJDASH_BASE_URL": sim.url}
    assert run(tmp_path, COMETAPI_KEY=KEY, **url).returncode == 2  # no prompts
    assert run(tmp_path, "x", "--pace", "-1", COMETAPI_KEY=KEY, **url).returncode == 2
    missing = run(tmp_path, "--file", str(tmp_path / "nope.txt"), COMETAPI_KEY=KEY, **url)
    assert missing.returncode == 2 and "nope.txt" in missing.stderr
    no_key = run(tmp_path, "a prompt", **url)
    assert no_key.returncode == 3 and "COMETAPI_KEY" in no_key.stderr
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = run(tmp_path, "a prompt", COMETAPI_KEY=KEY, MJDASH_BASE_URL=f"http://127.0.0.1:{port}")
    assert down.returncode == 4 and "nothing was submitted" in down.stderr
    watch = run(tmp_path, "a prompt", "--watch", COMETAPI_KEY=KEY, **url)
    assert watch.returncode == 2 and "terminal" in watch.stderr  # checked before submitting
    assert sim.stats()["routes"]["imagine"] == 0
