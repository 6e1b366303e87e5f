"""MidjourneyClient: the one place that speaks HTTP to CometAPI / midjourney-proxy.

It sends a request, reads a bounded answer and turns every outcome into a Task or a typed error
(docs/reliability.md, rules 1, 4, 6). It never sleeps and never retries: the poller does that.

Error messages are sentences a user can act on; they never carry the key (every message passes
through `Secret.redact`, and no httpx exception, which holds the request and its headers, is
chained to ours).
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import json
import re
import sys
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpx

from mjdash import __version__
from mjdash.model.api import (
    ACTION_PATH,
    AUTH_STYLES,
    BATCH_SIZE,
    BEARER,
    action_payload,
    auth_header,
)
from mjdash.model.kinds import moved_row, refused_prefix
from mjdash.model.secret import Secret
from mjdash.model.task import MAX_ID, BadTask, Status, Task, clean, moved, parse_task
from mjdash.model.urls import base_url_refusal, origin, url_refusal
from mjdash.net.backoff import parse_retry_after
from mjdash.net.bounded import ACCEPT_ENCODING, BoundedDecoder, DecodedTooLarge, DecodeRefused

# httpcore tries `import sniffio` again for every lock of every request when it is not
# installed (a failed import is not cached: ~0.1 ms each, several per request). A None entry in
# sys.modules makes that import fail at once, exactly as it would have anyway.
if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]

MAX_BODY = 1024 * 1024  # API answers (rule 4)
MAX_REMEMBERED = 50_000  # last answers kept to skip re-parsing unchanged tasks
MAX_IMAGE = 20 * 1024 * 1024
CONNECT_TIMEOUT = 5.0
SUBMIT_OK_CODES = frozenset({1, 21, 22})

FETCH_PATH = "/mj/task/{id}/fetch"
LIST_PATH = "/mj/task/list-by-condition"
MODAL_PATH = "/mj/submit/modal"
IMAGINE_PATH = "/mj/submit/imagine"

# new-api's cache-buster on a running task's preview image URL.
_RAND_RE = re.compile(r"(?<=[?&])rand=[0-9]+")
# Ids go into a URL path: no dots (no ".." segments), no slashes, nothing to escape.
_PATH_ID_RE = re.compile(r"^[A-Za-z0-9_:-]{1,64}$")


# --- errors -------------------------------------------------------------------------------


class MjError(Exception):
    """Base of the client's errors; `str(e)` is a sentence a user can act on, never the key."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class AuthError(MjError):
    """401/403: the key is missing or rejected; the message names the environment variable."""


class RateLimited(MjError):
    """429; `retry_after` is seconds (0..300) from the headers, None when absent or unreadable."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TransientError(MjError):
    """Worth retrying later: 5xx, 408/409/425, timeouts and transport failures.

    `status` is the HTTP status, None for transport failures (the server was not reached or went
    silent). `retry_now` is set when a connection was cut mid-answer (reset, truncated body,
    stale keep-alive): one immediate retry on a fresh connection usually succeeds.
    """

    def __init__(self, message: str, *, retry_now: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.retry_now = retry_now
        self.status = status


class TaskNotFound(MjError):
    def __init__(self, task_id: str, message: str | None = None) -> None:
        shown = clean(task_id, MAX_ID, single_line=True)
        super().__init__(message or f"task {shown} not found")
        self.task_id = task_id


class BadResponse(MjError):
    """The whole answer is unusable: HTML, garbage, wrong shape, too large, a redirect."""


class AnswerTooLarge(BadResponse):
    """The answer passed the size cap; reading stopped there."""


class RefusedUrl(BadResponse):
    """A URL from the server that mjdash will not fetch (rule 8)."""


# --- submit answers -----------------------------------------------------------------------


@dataclass(frozen=True)
class SubmitResult:
    code: int
    description: str
    task_id: str | None
    properties: dict[str, Any] = field(default_factory=dict)
    # ❤️ on older trueai: "ok" with the parent's own id. Nothing new was made.
    bookmarked: bool = False
    # new-api's 400 unknown_action:<customId>: this server does not take this button.
    refused_button: bool = False

    @property
    def ok(self) -> bool:
        """1 submitted, 21 exists / modal opened, 22 queued."""
        return self.code in SUBMIT_OK_CODES

    @property
    def opened_modal(self) -> bool:
        """Code 21 with a new task id: Custom Zoom / Vary (Region) wait for /mj/submit/modal."""
        return self.code == 21 and self.task_id is not None

    @property
    def queue_position(self) -> int | None:
        value = self.properties.get("numberOfQueues")
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        return None

    @property
    def banned_word(self) -> str | None:
        value = self.properties.get("bannedWord")
        return value if isinstance(value, str) and value else None


def _int_code(value: object) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return 0


def _clean_properties(value: object) -> dict[str, Any]:
    """Keep scalar properties only, strings cleaned: server text is hostile."""
    if not isinstance(value, dict):
        return {}
    out: dict[str, Any] = {}
    for key, item in list(value.items())[:50]:
        name = clean(key, 64, single_line=True)
        if not name:
            continue
        if isinstance(item, str):
            out[name] = clean(item, 500, single_line=True)
        elif item is None or isinstance(item, (bool, int, float)):
            out[name] = item
    return out


def parse_submit(obj: dict[str, Any]) -> SubmitResult:
    result = obj.get("result")
    task_id = clean(result, MAX_ID, single_line=True) if isinstance(result, (str, int)) else ""
    return SubmitResult(
        code=_int_code(obj.get("code")),
        description=clean(obj.get("description"), 500, single_line=True),
        task_id=task_id if _PATH_ID_RE.match(task_id) else None,
        properties=_clean_properties(obj.get("properties")),
    )


# --- the client ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    headers: httpx.Headers
    body: bytes

    def looks_like_html(self) -> bool:
        kind = self.headers.get("content-type", "").lower()
        return "html" in kind or self.body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<"


class _AuthHeaders(dict):
    """The auth header, built once; its repr never shows the key (crash screens print locals)."""

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{k!r}: '***'" for k in self) + "}"


_ROUTE_MISSING = object()
_Result = Task | BadTask | None


class MidjourneyClient:
    """Async client for the Midjourney task API behind CometAPI / new-api / midjourney-proxy.

    One httpx.AsyncClient with a bounded pool; every request is bounded by `concurrency`, by
    httpx timeouts and by a total deadline (read timeouts reset on every byte, so a drip-fed body
    would otherwise never time out). Raises ValueError for an unusable base URL or auth style.
    """

    def __init__(
        self,
        base_url: str,
        key: Secret | None,
        *,
        auth: str = BEARER,
        key_env: str = "COMETAPI_KEY",
        timeout: float = 15.0,
        batch_size: int = BATCH_SIZE,
        concurrency: int = 8,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        refusal = base_url_refusal(base_url)
        if refusal:
            raise ValueError(f"unusable base URL: {refusal}")
        if auth not in AUTH_STYLES:
            raise ValueError(f"auth must be one of {', '.join(AUTH_STYLES)}")
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        self.host = parts.netloc.lower()
        self._origin = origin(self.base_url)
        self.auth = auth
        self.key_env = key_env
        self._key = key if key else None
        self.timeout = float(timeout)
        # The total deadline: the read timeout plus slack for connect and a slow body.
        self.deadline = self.timeout + min(self.timeout, 5.0)
        self.batch_size = max(1, int(batch_size))
        self.concurrency = max(1, int(concurrency))
        self.request_count = 0
        # None until the first batch answer tells whether list-by-condition exists.
        self.batch_route: bool | None = None
        # The server family as far as its answers tell ("newapi", "trueai", "novicezk").
        self.family: str | None = None
        # customId kinds this server refused (400 unknown_action): marked, not offered.
        self.refused_prefixes: set[str] = set()
        # Set when the other header style worked after a 401: the `auth` setting to save.
        self.auth_switched: str | None = None
        self._auth_confirmed = False  # some answer with the key was a success
        self._auth_tried_other = False
        self._auth_lock = asyncio.Lock()
        self._oversized: set[str] = set()  # ids whose answer alone passes the size cap
        # id -> (raw answer, Task) for unfinished tasks: an answer equal to the last one (a
        # queued or rendering task, between progress steps) is not parsed again.
        self._last_answers: dict[str, tuple[dict[str, Any], Task]] = {}
        self._semaphore = asyncio.Semaphore(self.concurrency)
        self._auth_headers = self._build_auth_headers()
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(
                connect=CONNECT_TIMEOUT, read=self.timeout, write=CONNECT_TIMEOUT, pool=5.0
            ),
            limits=httpx.Limits(
                max_connections=self.concurrency + 2,
                max_keepalive_connections=self.concurrency + 2,
            ),
            follow_redirects=False,
            transport=transport,
            headers={
                "Accept": "application/json",
                "Accept-Encoding": ACCEPT_ENCODING,
                "User-Agent": f"mjdash/{__version__}",
            },
        )

    def replace_key(self, key: Secret | None) -> None:
        """Use `key` from now on (the dashboard's `r` re-reads a key file that changed)."""
        self._key = key if key else None
        self._auth_headers = self._build_auth_headers()

    def _build_auth_headers(self) -> _AuthHeaders:
        """The only place the key is revealed."""
        if self._key is None:
            return _AuthHeaders()
        name, value = auth_header(self.auth, self._key.reveal())
        return _AuthHeaders({name: value})

    def __repr__(self) -> str:
        key = "'***'" if self._key else "None"
        return f"MidjourneyClient(base_url={self.base_url!r}, auth={self.auth!r}, key={key})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> MidjourneyClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- public calls -----------------------------------------------------------------------

    async def fetch(self, task_id: str) -> Task:
        """One task. Raises TaskNotFound, BadResponse, AuthError, RateLimited, TransientError."""
        if not isinstance(task_id, str) or not _PATH_ID_RE.match(task_id):
            raise TaskNotFound(str(task_id), "not a task id")
        answer = await self._send("GET", self._url(FETCH_PATH.format(id=quote(task_id, safe=""))))
        if answer.status == 204:  # trueai-org/midjourney-proxy: unknown id
            self.family = self.family or "trueai"
            raise TaskNotFound(task_id)
        if answer.status == 400 and _says_not_found(answer.body):
            self.family = self.family or "newapi"
        self._raise_for_status(answer, task_id=task_id)
        if not answer.body.strip():  # novicezk/midjourney-proxy: 200 with an empty body
            self.family = self.family or "novicezk"
            raise TaskNotFound(task_id)
        obj = self._json(answer)
        self._note_family(obj)
        task = self._parse(obj, task_id)
        if isinstance(task, BadTask):
            if _says_not_found(answer.body):
                raise TaskNotFound(task_id)
            raise self._error(BadResponse, f"task {task_id}: {task.reason}")
        if task.id != task_id:
            raise self._error(BadResponse, f"asked for task {task_id}, the server sent another")
        if task.status is Status.MODAL and self.batch_route is not False:
            return await self._moved_on(task)
        return task

    async def _moved_on(self, task: Task) -> Task:
        """new-api keeps answering a continued modal's first row on fetch; list-by-condition
        holds the row that moves. One batch request tells (a MODAL task is fetched rarely)."""
        try:
            listed = await self._list_once([task.id])
        except MjError:
            return task
        if listed is _ROUTE_MISSING:
            self.batch_route = False
            return task
        other = listed.get(task.id)
        return moved_row([task, other]) if isinstance(other, Task) else task

    async def fetch_many(self, ids: Iterable[str]) -> dict[str, _Result]:
        """Many tasks in batches: id -> Task, BadTask (unusable answer for it) or None (not found).

        Uses list-by-condition in chunks of `batch_size`; ids left out of a batch answer are
        confirmed one by one. Falls back for good to one fetch per id when the batch route is
        missing (404/405). Whole-request failures raise, as `fetch` does.
        """
        wanted = list(dict.fromkeys(ids))
        results: dict[str, _Result] = {}
        valid: list[str] = []
        for task_id in wanted:
            if isinstance(task_id, str) and _PATH_ID_RE.match(task_id):
                valid.append(task_id)
            else:
                results[task_id] = None
        if not valid:
            return results
        if self.batch_route is False:
            results.update(await self._fetch_each(valid))
            return results
        batched = [i for i in valid if i not in self._oversized]
        alone = [i for i in valid if i in self._oversized]
        chunks = [batched[i : i + self.batch_size] for i in range(0, len(batched), self.batch_size)]
        found: dict[str, _Result] = {}
        route_missing: list[str] = []
        probed = False
        if chunks and self.batch_route is None:
            # Probe with one chunk first: a missing route then costs one request, not `concurrency`.
            first = await self._list_chunk(chunks[0])
            if first is _ROUTE_MISSING:
                self.batch_route = False
                results.update(await self._fetch_each(valid))
                return results
            self.batch_route = True
            probed = True
            found.update(first)
            chunks = chunks[1:]
        outcomes = await self._gather_chunks(chunks, one_answered=probed)
        for chunk, outcome in zip(chunks, outcomes, strict=True):
            if isinstance(outcome, BaseException):  # this chunk's answer alone was unusable
                found.update({i: BadTask(str(outcome), i) for i in chunk})
            elif outcome is _ROUTE_MISSING:
                route_missing.extend(chunk)
            else:
                found.update(outcome)
        if route_missing:
            self.batch_route = False
        missing = [i for i in batched if i not in found] + alone
        if missing:
            # A batch answer came: the exchange works, so no confirming fetch is poll-wide.
            answered = len(route_missing) < len(batched)
            found.update(await self._fetch_each(missing, batch_answered=answered))
        results.update(found)
        return {task_id: results.get(task_id) for task_id in wanted}  # in the order asked

    async def submit_action(
        self, task_id: str, custom_id: str, *, state: str | None = None
    ) -> SubmitResult:
        result = await self._submit(ACTION_PATH, action_payload(task_id, custom_id, state=state))
        if result.ok and result.task_id == task_id:
            # ❤️ (MJ::BOOKMARK) on older trueai: "ok" and the parent's own id, no new task.
            return dataclasses.replace(result, bookmarked=True)
        if not result.ok and "unknown_action" in result.description:
            self.refused_prefixes.add(refused_prefix(custom_id))
            return dataclasses.replace(result, refused_button=True)
        return result

    async def submit_modal(
        self, task_id: str, prompt: str, *, mask_base64: str | None = None
    ) -> SubmitResult:
        payload: dict[str, Any] = {"taskId": task_id, "prompt": prompt}
        if mask_base64 is not None:
            payload["maskBase64"] = mask_base64
        return await self._submit(MODAL_PATH, payload)

    async def submit_imagine(self, prompt: str, *, bot_type: str = "MID_JOURNEY") -> SubmitResult:
        return await self._submit(IMAGINE_PATH, {"prompt": prompt, "botType": bot_type})

    async def download_image(self, url: str) -> bytes:
        """The bytes of an image URL from a task (checked first, rule 8), at most 20 MiB.

        The key goes only to the configured base host; redirects are followed by hand (3 at
        most), each target checked again and sent no key unless it is the base host.
        """
        for _hop in range(4):
            refusal = url_refusal(url)
            if refusal:
                raise self._error(RefusedUrl, f"image not downloaded: {refusal}")
            answer = await self._send(
                "GET",
                url,
                with_key=origin(url) == self._origin,
                cap=MAX_IMAGE,
                deadline=self.deadline + 4 * self.timeout,
                accept="image/*",
            )
            if 300 <= answer.status < 400 and answer.headers.get("location"):
                url = urljoin(url, answer.headers["location"].strip())
                continue
            if answer.status == 200:
                return answer.body
            if answer.status == 429:
                raise self._rate_limited(answer)
            if answer.status in (408, 409, 425) or 500 <= answer.status < 600:
                raise self._error(
                    TransientError,
                    f"image download failed (HTTP {answer.status})",
                    status=answer.status,
                )
            raise self._error(BadResponse, f"image download failed (HTTP {answer.status})")
        raise self._error(BadResponse, "image download failed: too many redirects")

    # --- batches ----------------------------------------------------------------------------

    async def _list_chunk(self, chunk: list[str]) -> Any:
        """id -> result for one chunk; splits in halves when the answer is too large, and later
        polls send chunks of that half at most (long prompts: one wasted request, not one on
        every poll)."""
        try:
            return await self._list_once(chunk)
        except AnswerTooLarge:
            if len(chunk) == 1:
                self._oversized.add(chunk[0])
                return {chunk[0]: BadTask("answer too large", chunk[0])}
        middle = len(chunk) // 2
        self.batch_size = min(self.batch_size, middle)
        halves = await self._gather(
            [self._list_chunk(chunk[:middle]), self._list_chunk(chunk[middle:])]
        )
        if any(half is _ROUTE_MISSING for half in halves):
            return _ROUTE_MISSING
        return halves[0] | halves[1]

    async def _list_once(self, chunk: list[str]) -> Any:
        answer = await self._send("POST", self._url(LIST_PATH), json={"ids": chunk})
        if answer.status in (404, 405):
            return _ROUTE_MISSING
        self._raise_for_status(answer)
        obj = self._json(answer)
        if isinstance(obj, dict):
            reason = _envelope_message(obj)
            raise self._error(
                BadResponse,
                f"batch fetch failed: {reason}" if reason else "the batch answer is not a list",
            )
        if not isinstance(obj, list):
            raise self._error(BadResponse, "the batch answer is not a list of tasks")
        requested = set(chunk)
        found: dict[str, _Result] = {}
        rows: dict[str, list[Task]] = {}
        for item in obj:
            if not isinstance(item, dict):
                continue
            item_id = clean(item.get("id"), MAX_ID, single_line=True)
            if item_id not in requested:
                continue  # other keys' tasks are ignored
            if self.family is None:
                self._note_family(item)
            parsed = self._parse(item, item_id) if item_id not in rows else parse_task(item)
            if isinstance(parsed, Task) and parsed.id != item_id:
                continue
            if isinstance(parsed, Task):
                rows.setdefault(item_id, []).append(parsed)
            elif item_id not in found:
                found[item_id] = parsed
        for item_id, tasks in rows.items():
            # new-api after /mj/submit/modal: two rows for one id, only one of them refreshed.
            found[item_id] = tasks[0] if len(tasks) == 1 else moved_row(tasks)
        return found

    def _note_family(self, obj: object) -> None:
        """Guess the server family from a task object's keys (for refused-button marking)."""
        if self.family is not None or not isinstance(obj, dict) or "id" not in obj:
            return
        if "isCompleted" in obj or "displays" in obj or "instanceId" in obj:
            self.family = "trueai"
        elif "buttons" in obj and "maskBase64" in obj:
            self.family = "newapi"
        elif "buttons" not in obj and "customId" not in obj:
            self.family = "novicezk"

    def _parse(self, obj: Any, task_id: str) -> Task | BadTask:
        """parse_task, skipped when the answer equals the last one for this id (comparing two
        dicts costs a tenth of parsing one); only unfinished tasks are remembered. The same Task
        object comes back, so the UI sees at a glance that nothing changed."""
        last = self._last_answers.get(task_id)
        if last is not None and _same_answer(last[0], obj):
            return last[1]
        if last is not None and _moved_only(last[0], obj):
            parsed: Task | BadTask = moved(last[1], obj)
        else:
            parsed = parse_task(obj, expected_id=task_id)
        if isinstance(parsed, Task) and parsed.id == task_id and parsed.needs_polling:
            if len(self._last_answers) >= MAX_REMEMBERED:
                self._last_answers.clear()
            self._last_answers[task_id] = (_without_rand(obj), parsed)
        else:
            self._last_answers.pop(task_id, None)  # finished: not asked again
        return parsed

    async def _fetch_each(
        self, ids: list[str], *, batch_answered: bool = False
    ) -> dict[str, _Result]:
        """One fetch per id. A failure of one id's request (an HTTP 500 for it alone) stays with
        that id as a BadTask; only a failure of the whole exchange raises: the key rejected,
        rate limited, the server unreachable, or every request failing (the batch answer, when
        one came, counts as a request that did not)."""
        outcomes = await asyncio.gather(
            *(self._fetch_entry(task_id) for task_id in ids), return_exceptions=True
        )
        errors = [o for o in outcomes if isinstance(o, BaseException)]
        if errors:
            whole = [e for e in errors if not _is_per_task(e)]
            if whole or (len(errors) == len(outcomes) and not batch_answered):
                raise min(whole or errors, key=_severity)
        return {
            task_id: BadTask(str(o), task_id) if isinstance(o, BaseException) else o
            for task_id, o in zip(ids, outcomes, strict=True)
        }

    async def _gather_chunks(
        self, chunks: list[list[str]], *, one_answered: bool = False
    ) -> list[Any]:
        """Batch chunks: one whose request alone failed (a 500, junk) is returned as its
        exception, its ids then marked unusable; a failure of the whole exchange (key, rate
        limit, unreachable, every request failing) raises."""
        outcomes = await asyncio.gather(
            *(self._list_chunk(chunk) for chunk in chunks), return_exceptions=True
        )
        errors = [o for o in outcomes if isinstance(o, BaseException)]
        if errors:
            whole = [e for e in errors if not (_is_per_task(e) or isinstance(e, BadResponse))]
            if whole or (len(errors) == len(outcomes) and not one_answered):
                raise min(whole or errors, key=_severity)
        return outcomes

    async def _fetch_entry(self, task_id: str) -> _Result:
        try:
            return await self.fetch(task_id)
        except TaskNotFound:
            return None
        except BadResponse as exc:  # P1/P3/P4 for one id: a per-task error, the rest go on
            return BadTask(str(exc), task_id)

    @staticmethod
    async def _gather(coros: list[Coroutine[Any, Any, Any]]) -> list[Any]:
        """Run all (each request is bounded by the semaphore); raise the most serious error."""
        outcomes = await asyncio.gather(*coros, return_exceptions=True)
        errors = [o for o in outcomes if isinstance(o, BaseException)]
        if errors:
            raise min(errors, key=_severity)
        return outcomes

    # --- requests ---------------------------------------------------------------------------

    async def _submit(self, path: str, payload: dict[str, Any]) -> SubmitResult:
        answer = await self._send("POST", self._url(path), json=payload)
        if answer.status in (400, 404):
            # new-api answers validation failures as 400 with a submit-shaped body, trueai an
            # unknown parent as 404 with one (code 3).
            obj = self._json_or_none(answer.body)
            if isinstance(obj, dict) and "code" in obj:
                return self._redacted_submit(parse_submit(obj))
        self._raise_for_status(answer)
        obj = self._json(answer)
        if not isinstance(obj, dict):
            raise self._error(BadResponse, "the submit answer is not a JSON object")
        return self._redacted_submit(parse_submit(obj))

    def _redacted_submit(self, result: SubmitResult) -> SubmitResult:
        if self._key is None:
            return result
        props = {
            k: self._key.redact(v) if isinstance(v, str) else v
            for k, v in result.properties.items()
        }
        return SubmitResult(
            result.code, self._key.redact(result.description), result.task_id, props
        )

    def _url(self, path: str) -> str:
        return self.base_url + path

    async def _send(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        with_key: bool = True,
        cap: int = MAX_BODY,
        deadline: float | None = None,
        accept: str | None = None,
    ) -> _Answer:
        """One request with a bounded body and a total deadline; transport failures mapped."""
        deadline = self.deadline if deadline is None else deadline
        error: MjError | None = None
        async with self._semaphore:
            self.request_count += 1
            try:
                async with asyncio.timeout(deadline):
                    sent_auth = self.auth
                    answer = await self._exchange(method, url, json, with_key, cap, accept)
                    if with_key and self._key is not None and origin(url) == self._origin:
                        if answer.status == 401:
                            retry = (method, url, json, with_key, cap, accept)
                            answer = await self._after_401(answer, sent_auth, retry)
                        elif 200 <= answer.status < 300:
                            self._auth_confirmed = True  # (a 404 proves nothing about the key)
                    return answer
            except TimeoutError:
                error = self._unreachable(f"no answer from {_host_of(url)} within {deadline:g}s")
            except httpx.TimeoutException as exc:
                error = self._timeout_error(exc, url)
            except httpx.DecodingError:
                error = self._error(BadResponse, "the answer could not be decoded")
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
                error = self._unreachable(
                    f"the connection to {_host_of(url)} was cut ({_reason(exc)})", retry_now=True
                )
            except httpx.ConnectError as exc:
                error = self._unreachable(f"cannot connect to {_host_of(url)} ({_reason(exc)})")
            except httpx.TransportError as exc:
                error = self._unreachable(f"{_host_of(url)}: {type(exc).__name__}")
            except httpx.InvalidURL:
                # Ours are checked before sending: this is a redirect's unreadable Location.
                error = self._error(BadResponse, "the server redirected to an invalid URL")
        # Raised outside the except blocks: no httpx exception (holding the request) is chained.
        raise error

    async def _exchange(
        self, method: str, url: str, payload: Any, with_key: bool, cap: int, accept: str | None
    ) -> _Answer:
        request = self._http.build_request(
            method,
            url,
            json=payload,
            headers=self._request_headers(with_key, accept),
        )
        response = await self._http.send(request, stream=True)
        try:
            declared = response.headers.get("content-length", "").strip()
            if declared.isdigit() and int(declared) > cap:
                raise self._too_large(cap)
            # Raw bytes, inflated here with the cap counted while inflating (a gzip bomb).
            try:
                decoder = BoundedDecoder(response.headers.get("content-encoding", ""), cap)
                # httpx reads an in-memory answer (a test transport's) at once; its raw bytes
                # are still in `stream`, so the bound applies to it too.
                raw = response.stream if response.is_stream_consumed else response.aiter_raw()
                async for piece in raw:  # type: ignore[union-attr]
                    decoder.feed(piece)
                body = decoder.finish()
            except DecodedTooLarge:
                decoder = piece = None  # the error's traceback must not hold a megabyte
                raise self._too_large(cap) from None
            except DecodeRefused as exc:
                decoder = piece = None
                raise self._error(BadResponse, f"unusable answer: {exc}") from None
            return _Answer(response.status_code, response.headers, body)
        finally:
            await response.aclose()

    def _worth_other_auth(self, answer: _Answer) -> bool:
        """A 401 on the first request, or one that says the header was missing: the key may be
        right and the header style wrong (trueai wants the raw value, novicezk mj-api-secret)."""
        if self._auth_tried_other:
            return False
        return not self._auth_confirmed or _says_header_missing(answer.body)

    async def _after_401(
        self, answer: _Answer, sent_auth: str, request: tuple[Any, ...]
    ) -> _Answer:
        """One request at a time decides; requests refused with the style just replaced are
        sent again with the new one."""
        async with self._auth_lock:
            if self.auth != sent_auth:
                return await self._exchange(*request)
            if self._worth_other_auth(answer):
                return await self._try_other_auth(answer, request)
        return answer

    async def _try_other_auth(self, first: _Answer, request: tuple[Any, ...]) -> _Answer:
        """Send the same request (same host) once with the other header style; keep it if it
        works and say which `auth` setting to save; else go back and answer the first 401."""
        self._auth_tried_other = True
        before, before_headers = self.auth, self._auth_headers
        self.auth = _other_auth(before)
        self._auth_headers = self._build_auth_headers()
        answer = await self._exchange(*request)
        if answer.status in (401, 403):
            self.auth, self._auth_headers = before, before_headers
            return first
        self._auth_confirmed = True
        self.auth_switched = self.auth
        return answer

    def auth_note(self) -> str | None:
        """One line for the user when the other header style worked, else None."""
        if self.auth_switched is None:
            return None
        return (
            f"{self.host} took the key only as {_AUTH_HEADER[self.auth_switched]}: "
            f'set auth = "{self.auth_switched}" in the config file\'s [api] section to skip the'
            " failed try"
        )

    def _request_headers(self, with_key: bool, accept: str | None) -> _AuthHeaders:
        headers = _AuthHeaders(self._auth_headers if with_key else {})
        if accept:
            headers["Accept"] = accept
        return headers

    # --- answers ----------------------------------------------------------------------------

    def _raise_for_status(self, answer: _Answer, *, task_id: str | None = None) -> None:
        status = answer.status
        if 200 <= status < 300:
            return
        if 300 <= status < 400:
            target = _host_of(answer.headers.get("location", ""))
            where = f" to {target}" if target else ""
            raise self._error(
                BadResponse,
                f"the server redirected (HTTP {status}){where}: the base URL is probably wrong",
            )
        if status in (401, 403):
            if self._key is None:
                raise self._error(AuthError, f"no key (HTTP {status}): set {self.key_env}")
            tried = " (both header styles were tried)" if self._auth_tried_other else ""
            raise self._error(
                AuthError,
                f"key rejected (HTTP {status}): check {self.key_env}, and the auth setting "
                f'(now "{self.auth}"; the other is "{_other_auth(self.auth)}"){tried}',
            )
        if status == 429:
            raise self._rate_limited(answer)
        if status in (408, 409, 425) or 500 <= status < 600:
            raise self._error(
                TransientError, f"server error (HTTP {status}) from {self.host}", status=status
            )
        if task_id is not None:
            if status == 400 and _says_not_found(answer.body):
                raise TaskNotFound(task_id)
            if status == 404 and not answer.looks_like_html():
                raise TaskNotFound(task_id)
        if answer.looks_like_html():
            raise self._error(BadResponse, self._html_message(status))
        reason = _envelope_message(self._json_or_none(answer.body))
        detail = f": {reason}" if reason else ""
        raise self._error(BadResponse, f"the server refused the request (HTTP {status}){detail}")

    def _json(self, answer: _Answer) -> Any:
        try:
            return self._redacted(answer.body, json.loads(answer.body))
        except (ValueError, RecursionError):
            if answer.looks_like_html():
                raise self._error(BadResponse, self._html_message(answer.status)) from None
            raise self._error(
                BadResponse, "the server answered something that is not JSON"
            ) from None

    def _json_or_none(self, body: bytes) -> Any:
        return self._redacted(body, _json_or_none(body))

    def _redacted(self, body: bytes, obj: Any) -> Any:
        """Server text with the key (or any fragment of it) masked, at parse time: before any of
        it is shown, cut short, cached, journalled or exported (a server may echo the key)."""
        if self._key is None or not self._key.may_appear_in(body):
            return obj
        return self._key.redact_all(obj)

    def _html_message(self, status: int) -> str:
        return (
            f"the server answered an HTML page (HTTP {status}), not JSON: "
            f"the base URL ({self.base_url}) is probably wrong"
        )

    def _rate_limited(self, answer: _Answer) -> RateLimited:
        retry_after = parse_retry_after(answer.headers)
        return self._error(RateLimited, f"rate limited by {self.host}", retry_after=retry_after)

    def _too_large(self, cap: int) -> AnswerTooLarge:
        return AnswerTooLarge(f"answer too large (over {cap // (1024 * 1024)} MiB)")

    def _unreachable(self, detail: str, *, retry_now: bool = False) -> TransientError:
        return self._error(TransientError, f"server unreachable: {detail}", retry_now=retry_now)

    def _timeout_error(self, exc: httpx.TimeoutException, url: str) -> TransientError:
        host = _host_of(url)
        if isinstance(exc, httpx.ConnectTimeout):
            return self._unreachable(
                f"{host} did not accept a connection within {CONNECT_TIMEOUT:g}s"
            )
        if isinstance(exc, httpx.PoolTimeout):
            return self._unreachable(f"too many requests waiting for {host}")
        return self._unreachable(f"no answer from {host} within {self.timeout:g}s")

    def _error(self, cls: type[Any], message: str, **kwargs: Any) -> Any:
        """Build an error whose message cannot carry the key (server text may echo it)."""
        if self._key is not None:
            message = self._key.redact(message)
        return cls(message, **kwargs)


def _is_per_task(exc: BaseException) -> bool:
    """A server error answered for one id (the server was reached and spoke HTTP)."""
    return isinstance(exc, TransientError) and exc.status is not None


def _severity(exc: BaseException) -> int:
    """Which of several concurrent failures to report: the one the user must act on first."""
    for rank, kind in enumerate((AuthError, RateLimited, TransientError, BadResponse, MjError)):
        if isinstance(exc, kind):
            return rank + 1
    return 0 if not isinstance(exc, Exception) else 9  # cancellation first


def _same_answer(old: dict[str, Any], new: object) -> bool:
    """Equal to the last answer as remembered (`_without_rand`): new-api appends a `rand=` to a
    running task's preview URL that changes on every fetch and says nothing about the task (the
    first URL keeps working). Progress and status first: most answers of a running batch moved,
    and those need no deep compare."""
    if not isinstance(new, dict):
        return False
    if old.get("progress") != new.get("progress") or old.get("status") != new.get("status"):
        return False
    url = new.get("imageUrl")
    if not isinstance(url, str) or "rand=" not in url:
        return new == old  # everything else equal (compared in C)
    # The answer is ours alone: its URL is swapped for the comparison (no copy of the dict).
    new["imageUrl"] = _RAND_RE.sub("", url)
    try:
        return new == old
    finally:
        new["imageUrl"] = url


def _moved_only(old: dict[str, Any], new: object) -> bool:
    """The answer differs from the last (as remembered) in progress and the preview URL only."""
    if not isinstance(new, dict) or len(new) != len(old):
        return False
    return {**new, "progress": old.get("progress"), "imageUrl": old.get("imageUrl")} == old


def _without_rand(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer with the preview URL's `rand=` dropped (the same object when it has none)."""
    url = answer.get("imageUrl")
    if isinstance(url, str) and "rand=" in url:
        return {**answer, "imageUrl": _RAND_RE.sub("", url)}
    return answer


_AUTH_HEADER = {"bearer": "Authorization: Bearer <key>", "mj-api-secret": "mj-api-secret: <key>"}


def _other_auth(auth: str) -> str:
    return AUTH_STYLES[1] if auth == AUTH_STYLES[0] else AUTH_STYLES[0]


def _says_header_missing(body: bytes) -> bool:
    """trueai's "Authorization header missing.", new-api's "No token provided"/"未提供令牌"."""
    lowered = body[:4096].lower()
    return any(
        marker in lowered
        for marker in (b"header missing", b"no token", b"missing token", "未提供令牌".encode())
    )


def _says_not_found(body: bytes) -> bool:
    lowered = body[:4096].lower()
    return b"task_no_found" in lowered or b"task_not_found" in lowered


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def _envelope_message(obj: object) -> str:
    """The human part of an error envelope: description, message or error.message."""
    if not isinstance(obj, dict):
        return ""
    for key in ("description", "message", "error"):
        value = obj.get(key)
        if isinstance(value, dict):
            value = value.get("message")
        text = clean(value, 200, single_line=True) if isinstance(value, str) else ""
        if text:
            return text
    return ""


def _host_of(url: str) -> str:
    try:
        return clean(urlsplit(url).netloc.rpartition("@")[2], 100, single_line=True)
    except ValueError:
        return ""


def _reason(exc: Exception) -> str:
    return clean(str(exc), 120, single_line=True) or type(exc).__name__
