"""The task model: tolerant parsing (docs/reliability.md P2), inert server text (rule 7, P5),
button names, and task ids found in pasted text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mjdash.model.task import (
    MAX_FIELD,
    MAX_TEXT,
    BadTask,
    Button,
    Status,
    Task,
    clean,
    describe_custom_id,
    extract_task_ids,
    is_task_id,
    parse_task,
)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def at_ms(ms: int) -> datetime:
    """Epoch ms as an aware datetime, computed without datetime.fromtimestamp."""
    return EPOCH + timedelta(milliseconds=ms)


# --- the example answers in docs/api.md------------------------------------------------------

HASH = "bab70970-d663-464b-bf49-1d0d766064c3"


def _grid_button(custom_id: str, label: str = "", emoji: str = "") -> dict:
    return {"customId": custom_id, "emoji": emoji, "label": label, "type": 2, "style": 2}


FINISHED = {
    "id": "1726667730879410",
    "action": "IMAGINE",
    "customId": "",
    "botType": "",
    "prompt": "cute cat girl --niji 5",
    "promptEn": "cute cat girl --niji 5",
    "description": "Submit success",
    "state": "",
    "submitTime": 1726667730879,
    "startTime": 1726667732086,
    "finishTime": 1726667765372,
    "imageUrl": "https://api.cometapi.com/mj/image/1726667730879410",
    "videoUrl": "",
    "status": "SUCCESS",
    "progress": "100%",
    "failReason": "",
    "buttons": [
        *[_grid_button(f"MJ::JOB::upsample::{i}::{HASH}", f"U{i}") for i in range(1, 5)],
        _grid_button(f"MJ::JOB::reroll::0::{HASH}::SOLO", "", "🔄"),
        *[_grid_button(f"MJ::JOB::variation::{i}::{HASH}", f"V{i}") for i in range(1, 5)],
    ],
    "maskBase64": "",
    "properties": {"finalPrompt": "cute cat girl --niji 5", "finalZhPrompt": ""},
}

RUNNING = json.loads(
    """{"id":"1773314942177684","action":"IMAGINE","customId":"","botType":"",
 "prompt":"a paper boat on calm water at sunrise --v 6.1",
 "promptEn":"a paper boat on calm water at sunrise --v 6.1",
 "description":"Submit success","state":"","submitTime":1773314942177,"startTime":1773314944930,
 "finishTime":0,
 "imageUrl":"https://api.cometapi.com/mj/image/1773314942177684?rand=1773314975123456789",
 "videoUrl":"","status":"IN_PROGRESS","progress":"58%","failReason":"","buttons":null,
 "maskBase64":"",
 "properties":{"finalPrompt":"a paper boat on calm water at sunrise --v 6.1","finalZhPrompt":""}}"""
)

FAILED = json.loads(
    """{"id":"1773315300999042","action":"IMAGINE","customId":"","botType":"",
 "prompt":"a cat --ar 99:1",
 "promptEn":"a cat --ar 99:1","description":"Submit success","state":"",
 "submitTime":1773315300999,"startTime":1773315302114,"finishTime":1773315303260,
 "imageUrl":"","videoUrl":"","status":"FAILURE","progress":"100%",
 "failReason":"[Invalid parameter] Invalid value","buttons":[],"maskBase64":"","properties":null}"""
)

MODAL = json.loads(
    """{"id":"1773315500777001","action":"CUSTOM_ZOOM","customId":"","botType":"",
 "prompt":"cat --v 6.0",
 "promptEn":"cat --v 6.0","description":"Waiting for window confirm","state":"",
 "submitTime":1773315500777,"startTime":0,"finishTime":0,"imageUrl":"","videoUrl":"",
 "status":"MODAL","progress":"0%","failReason":"","buttons":[],"maskBase64":"","properties":null}"""
)

EXAMPLES = [FINISHED, RUNNING, FAILED, MODAL]


def parsed(obj: object, expected_id: str | None = None) -> Task:
    task = parse_task(obj, expected_id)
    assert isinstance(task, Task), task
    return task


def test_finished_imagine() -> None:
    task = parsed(FINISHED)
    assert task.id == "1726667730879410"
    assert task.status is Status.SUCCESS
    assert task.status_raw == "SUCCESS"
    assert task.status_text == "SUCCESS"
    assert task.action == "IMAGINE"
    assert task.progress == 100
    assert task.prompt == task.prompt_en == task.final_prompt == "cute cat girl --niji 5"
    assert task.description == "Submit success"
    assert task.fail_reason == ""
    assert task.image_url == "https://api.cometapi.com/mj/image/1726667730879410"
    assert task.has_mask is False
    assert task.submit_time == datetime(2024, 9, 18, 13, 55, 30, 879000, tzinfo=UTC)
    assert task.start_time == at_ms(1726667732086)
    assert task.finish_time == at_ms(1726667765372)
    for moment in (task.submit_time, task.start_time, task.finish_time):
        assert moment.utcoffset() == timedelta(0)
    assert task.queue_wait == timedelta(milliseconds=1207)
    assert task.render_time == timedelta(milliseconds=33286)
    # A finished task's elapsed time no longer depends on the clock.
    assert task.elapsed(datetime(2030, 1, 1, tzinfo=UTC)) == timedelta(milliseconds=33286)
    assert task.is_terminal and not task.needs_polling
    assert [b.name for b in task.buttons] == [
        "U1", "U2", "U3", "U4", "Reroll", "V1", "V2", "V3", "V4",
    ]  # fmt: skip
    assert [b.kind for b in task.buttons] == ["upscale"] * 4 + ["reroll"] + ["variation"] * 4
    assert task.buttons[4].emoji == "🔄"
    assert task.buttons[0].custom_id == f"MJ::JOB::upsample::1::{HASH}"
    assert (task.buttons[0].type, task.buttons[0].style) == (2, 2)
    assert not any(b.opens_modal for b in task.buttons)


def test_running_with_preview_and_null_buttons() -> None:
    task = parsed(RUNNING)
    assert task.status is Status.IN_PROGRESS
    assert task.progress == 58
    assert task.buttons == ()
    assert task.image_url.endswith("?rand=1773314975123456789")
    assert task.finish_time is None
    assert task.final_prompt == "a paper boat on calm water at sunrise --v 6.1"
    assert not task.is_terminal and task.needs_polling
    assert task.queue_wait == timedelta(milliseconds=2753)
    assert task.render_time is None
    now = at_ms(1773314944930) + timedelta(seconds=10)
    assert task.elapsed(now) == timedelta(seconds=10)
    # A clock behind the server's never gives a negative duration.
    assert task.elapsed(at_ms(1773314900000)) == timedelta(0)


def test_failure() -> None:
    task = parsed(FAILED)
    assert task.status is Status.FAILURE
    assert task.fail_reason == "[Invalid parameter] Invalid value"
    assert task.progress == 100
    assert task.buttons == ()
    assert task.final_prompt == ""  # properties: null
    assert task.image_url == ""
    assert task.is_terminal and not task.needs_polling
    assert task.queue_wait == timedelta(milliseconds=1115)
    assert task.render_time == timedelta(milliseconds=1146)


def test_modal_waits_for_the_user() -> None:
    task = parsed(MODAL)
    assert task.status is Status.MODAL
    assert task.action == "CUSTOM_ZOOM"
    assert task.progress == 0
    assert task.description == "Waiting for window confirm"
    assert task.start_time is None and task.finish_time is None
    assert task.queue_wait is None and task.render_time is None
    assert not task.is_terminal
    assert not task.needs_polling
    now = at_ms(1773315500777) + timedelta(minutes=3)
    assert task.elapsed(now) == timedelta(minutes=3)  # from submit: it never started


@pytest.mark.parametrize("answer", EXAMPLES, ids=lambda a: a["status"])
def test_examples_round_trip(answer: dict) -> None:
    task = parsed(answer)
    assert parse_task(task.to_api_dict()) == task
    assert parse_task(json.loads(json.dumps(task.to_api_dict()))) == task


# --- tolerance (P2) ----------------------------------------------------------------------

ID = "1773314942177684"


@pytest.mark.parametrize(
    ("obj", "kind"),
    [(None, "null"), ([], "list"), ("", "str"), (42, "int"), (4.2, "float"), (True, "bool")],
)
def test_not_an_object_is_a_bad_task(obj: object, kind: str) -> None:
    result = parse_task(obj, expected_id=ID)
    assert isinstance(result, BadTask)
    assert kind in result.reason
    assert result.task_id == ID


def test_list_of_tasks_is_not_a_task() -> None:
    assert isinstance(parse_task([FINISHED]), BadTask)


def test_empty_object_is_a_bad_task() -> None:
    result = parse_task({})
    assert isinstance(result, BadTask)
    assert result.task_id is None


def test_only_an_id_gives_defaults() -> None:
    task = parsed({"id": ID})
    assert task == Task(id=ID)
    assert task.status is Status.UNKNOWN
    assert task.status_text == "?"
    assert task.progress is None
    assert task.submit_time is task.start_time is task.finish_time is None
    assert task.elapsed(datetime.now(UTC)) is None
    assert task.buttons == ()
    # Not known to be finished: keep watching it.
    assert task.needs_polling


def test_unknown_keys_are_ignored() -> None:
    extra = dict(RUNNING, surprise={"nested": [1, 2]}, __class__="x", Status="SUCCESS", ID="0")
    assert parse_task(extra) == parse_task(RUNNING)


def test_missing_keys_are_defaulted() -> None:
    for key in FINISHED:
        if key == "id":
            continue
        partial = {k: v for k, v in FINISHED.items() if k != key}
        task = parsed(partial)
        assert task.id == FINISHED["id"]
    assert parsed({k: v for k, v in FINISHED.items() if k != "status"}).status is Status.UNKNOWN


def test_null_for_every_key_but_id() -> None:
    task = parsed(dict.fromkeys(FINISHED, None) | {"id": ID})
    assert task == Task(id=ID)


def test_missing_status_is_unknown() -> None:
    task = parsed({"id": ID, "progress": "10%"})
    assert task.status is Status.UNKNOWN
    assert task.status_raw == ""


def test_unknown_status_is_shown_as_sent() -> None:
    task = parsed({"id": ID, "status": "WEIRD"})
    assert task.status is Status.UNKNOWN
    assert task.status_raw == "WEIRD"
    assert task.status_text == "WEIRD"
    assert task.needs_polling


def test_hostile_unknown_status_is_cleaned() -> None:
    task = parsed({"id": ID, "status": "\x1b[2J\x1b]52;c;QUJD\x07WEIRD\u202e"})
    assert task.status is Status.UNKNOWN
    assert "\x1b" not in task.status_text and "\x07" not in task.status_text
    assert "\u202e" not in task.status_text
    assert "WEIRD" in task.status_text


def test_empty_status_is_pending() -> None:
    task = parsed({"id": ID, "status": ""})
    assert task.status is Status.PENDING
    assert task.status_text == "PENDING"
    assert not task.is_terminal and task.needs_polling


@pytest.mark.parametrize(
    ("raw", "status", "terminal", "polling"),
    [
        ("NOT_START", Status.NOT_START, False, True),
        ("SUBMITTED", Status.SUBMITTED, False, True),
        ("IN_PROGRESS", Status.IN_PROGRESS, False, True),
        ("SUCCESS", Status.SUCCESS, True, False),
        ("FAILURE", Status.FAILURE, True, False),
        ("CANCEL", Status.CANCEL, True, False),
        ("MODAL", Status.MODAL, False, False),
        ("success", Status.SUCCESS, True, False),
        (" FAILURE ", Status.FAILURE, True, False),
        (42, Status.UNKNOWN, False, True),
        (None, Status.UNKNOWN, False, True),
        (["SUCCESS"], Status.UNKNOWN, False, True),
    ],
)
def test_status_values(raw: object, status: Status, terminal: bool, polling: bool) -> None:
    task = parsed({"id": ID, "status": raw})
    assert task.status is status
    assert task.is_terminal is terminal
    assert task.needs_polling is polling


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("58%", 58),
        ("58", 58),
        (58, 58),
        (58.9, 58),
        (" 58 % ", 58),
        ("0%", 0),
        ("100%", 100),
        ("150%", 100),
        (150, 100),
        (-5, 0),
        ("-5%", 0),
        ("abc", None),
        ("", None),
        (None, None),
        ("nan", None),
        (float("nan"), None),
        ("inf", None),
        (float("inf"), None),
        ("1e309", None),
        pytest.param(10**400, None, id="10**400"),
        (True, None),
        ([58], None),
        ({"value": 58}, None),
    ],
)
def test_progress_values(raw: object, expected: int | None) -> None:
    assert parsed({"id": ID, "status": "IN_PROGRESS", "progress": raw}).progress == expected


SUBMIT_MS = 1773314942177


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (SUBMIT_MS, at_ms(SUBMIT_MS)),
        (str(SUBMIT_MS), at_ms(SUBMIT_MS)),
        (f" {SUBMIT_MS} ", at_ms(SUBMIT_MS)),
        (float(SUBMIT_MS), at_ms(SUBMIT_MS)),
        (1773314942, at_ms(1773314942000)),  # seconds, as some proxies send
        ("1773314942", at_ms(1773314942000)),
        (1773314942.177, at_ms(SUBMIT_MS)),
        (0, None),
        ("0", None),
        (0.0, None),
        (-5, None),
        ("abc", None),
        ("", None),
        (None, None),
        (True, None),
        (float("nan"), None),
        (float("inf"), None),
        pytest.param(10**400, None, id="10**400"),
        (10**14, None),  # year 5138: not a real time
        ([SUBMIT_MS], None),
    ],
)
def test_time_values(raw: object, expected: datetime | None) -> None:
    task = parsed({"id": ID, "submitTime": raw})
    assert task.submit_time == expected
    if expected is not None:
        assert task.submit_time.utcoffset() == timedelta(0)


def test_sub_millisecond_times_are_whole_milliseconds() -> None:
    task = parsed({"id": ID, "submitTime": 1773314942.1774563})
    assert task.submit_time == at_ms(SUBMIT_MS)
    assert parse_task(task.to_api_dict()) == task


def test_numbers_as_strings() -> None:
    task = parsed(
        {
            "id": int(ID),
            "status": "SUCCESS",
            "progress": "100",
            "submitTime": "1773314942177",
            "startTime": "1773314944930",
            "finishTime": "1773314975000",
            "buttons": [{"customId": "MJ::JOB::upsample::1::h", "label": "U1", "type": "2"}],
        }
    )
    assert task.id == ID
    assert task.progress == 100
    assert task.queue_wait == timedelta(milliseconds=2753)
    assert task.render_time == timedelta(milliseconds=30070)
    assert task.buttons[0].type == 2


def test_times_zero_mean_unset() -> None:
    task = parsed({"id": ID, "submitTime": 0, "startTime": 0, "finishTime": 0})
    assert task.submit_time is task.start_time is task.finish_time is None
    assert task.queue_wait is None and task.render_time is None


@pytest.mark.parametrize(
    ("envelope", "expected"),
    [
        ({"description": "task_no_found ", "type": "upstream_error", "code": 4}, "task_no_found"),
        ({"code": 30, "description": "rate limited, slow down"}, "rate limited, slow down"),
        (
            {"error": {"code": "", "message": "Invalid token (request id: 42)", "type": "x"}},
            "Invalid token (request id: 42)",
        ),
    ],
)
def test_error_envelope_in_a_200(envelope: dict, expected: str) -> None:
    result = parse_task(envelope, expected_id=ID)
    assert isinstance(result, BadTask)
    assert expected in result.reason
    assert result.task_id == ID


def test_error_envelope_text_is_cleaned() -> None:
    result = parse_task({"code": 9, "description": "\x1b]52;c;QUJD\x07boom\x9b2J" + "x" * 5000})
    assert isinstance(result, BadTask)
    assert "boom" in result.reason
    assert "\x1b" not in result.reason and "\x07" not in result.reason
    assert "\x9b" not in result.reason
    assert len(result.reason) < 300


def test_expected_id_fills_a_missing_id() -> None:
    task = parsed({"status": "SUCCESS", "progress": "100%"}, expected_id=ID)
    assert task.id == ID
    assert task.status is Status.SUCCESS
    assert parsed({"id": "", "status": "SUCCESS"}, expected_id=ID).id == ID
    assert parsed({"id": None, "status": ""}, expected_id=ID).id == ID


def test_server_id_wins_over_expected_id() -> None:
    assert parsed(FINISHED, expected_id=ID).id == FINISHED["id"]


def test_task_without_any_id_is_bad() -> None:
    result = parse_task({"status": "SUCCESS"})
    assert isinstance(result, BadTask)
    assert result.task_id is None


@pytest.mark.parametrize("bad_id", ["../../etc/passwd", "a b", "x" * 65, "id/with/slash", "1?x=2"])
def test_unusable_ids_are_refused(bad_id: str) -> None:
    assert isinstance(parse_task({"id": bad_id, "status": "SUCCESS"}), BadTask)


def test_wrong_typed_buttons_are_skipped() -> None:
    for buttons in ("abc", {}, 42, True, {"customId": "MJ::CustomZoom::h"}):
        assert parsed({"id": ID, "buttons": buttons}).buttons == ()
    task = parsed(
        {
            "id": ID,
            "buttons": [
                None,
                1,
                "MJ::JOB::upsample::1::h",
                {},
                {"customId": ""},
                {"customId": None, "label": "ghost"},
                {"customId": "MJ::JOB::upsample::1::h", "label": None, "emoji": 5, "type": "2"},
                {"customId": "MJ::JOB::upsample::2::h", "type": "²", "style": "--5"},
                {"customId": "MJ::JOB::upsample::3::h", "type": True, "style": [1]},
            ],
        }
    )
    assert [b.custom_id for b in task.buttons] == [
        "MJ::JOB::upsample::1::h",
        "MJ::JOB::upsample::2::h",
        "MJ::JOB::upsample::3::h",
    ]
    assert task.buttons[0].type == 2
    assert task.buttons[0].label == ""
    assert task.buttons[1].type is None and task.buttons[1].style is None
    assert task.buttons[2].type is None and task.buttons[2].style is None


def test_buttons_are_capped() -> None:
    buttons = [{"customId": f"MJ::X::{i}", "label": str(i)} for i in range(10_000)]
    assert len(parsed({"id": ID, "buttons": buttons}).buttons) <= 100


def test_mask_and_properties_of_wrong_type() -> None:
    assert parsed({"id": ID, "maskBase64": "iVBORw0K"}).has_mask is True
    for mask in ("", None, 1, ["x"]):
        assert parsed({"id": ID, "maskBase64": mask}).has_mask is False
    for props in ("x", [], 3, {"finalPrompt": None}, {"finalPrompt": ["a"]}):
        assert parsed({"id": ID, "properties": props}).final_prompt == ""


def test_action_is_upper_and_capped() -> None:
    assert parsed({"id": ID, "action": "upscale"}).action == "UPSCALE"
    assert parsed({"id": ID, "action": "SOMETHING_NEW"}).action == "SOMETHING_NEW"
    # "ß".upper() is "SS": uppercasing must not push past the cap or break the round trip.
    task = parsed({"id": ID, "action": "ß" * 40})
    assert len(task.action) <= 40
    assert parse_task(task.to_api_dict()) == task


# --- hostile text (rule 7, P5) -------------------------------------------------------------

BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
FORBIDDEN = (
    frozenset(chr(c) for c in range(0x20) if chr(c) not in "\n\t")
    | {"\x7f"}
    | frozenset(chr(c) for c in range(0x80, 0xA0))
    | frozenset(BIDI)
)
SPECIALS = [*sorted(FORBIDDEN), "\n", "\t", "[", "]", "/", "@", "=", "\ud800", "…", " "]

hostile_text = st.text(alphabet=st.one_of(st.sampled_from(SPECIALS), st.characters()), max_size=60)


def assert_inert(text: str) -> None:
    bad = FORBIDDEN.intersection(text)
    assert not bad, f"control characters left: {sorted(map(hex, map(ord, bad)))}"
    text.encode("utf-8")  # no lone surrogates


def test_clean_strips_escape_sequences() -> None:
    assert clean("\x1b[31mred\x1b[0m") == "[31mred[0m"
    assert clean("\x1b[2J\x1b[H") == "[2J[H"


def test_clean_strips_osc52_clipboard_write() -> None:
    text = clean("before\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07after")
    assert_inert(text)
    assert text.startswith("before") and text.endswith("after")
    assert clean("\x1b]52;c;QUJD\x1b\\x") == "]52;c;QUJD\\x"  # ST-terminated form


def test_clean_strips_bel_cr_nul_and_c1() -> None:
    assert clean("ding\x07") == "ding"
    assert clean("fake\rreal") == "fakereal"
    assert clean("a\x00b") == "ab"
    assert clean("\x9b31mred") == "31mred"
    assert clean("a\x85b\x7fc") == "abc"
    assert clean("line1\r\nline2") == "line1\nline2"


@pytest.mark.parametrize("char", list(BIDI))
def test_clean_strips_bidi_controls(char: str) -> None:
    assert clean(f"abc{char}def") == "abcdef"
    assert clean(f"abc{char}def", single_line=True) == "abc def"


@pytest.mark.parametrize(
    "markup", ["[/]", "[@click=app.quit]", "[bold red]x[/bold red]", "[link=x]"]
)
def test_clean_keeps_markup_as_literal_text(markup: str) -> None:
    # Square brackets are harmless once rendered without markup; they must stay visible.
    assert clean(markup) == markup
    assert clean(f"\x1b[1m{markup}\x07") == f"[1m{markup}"


def test_clean_keeps_newlines_and_tabs_unless_single_line() -> None:
    assert clean("a\nb\tc") == "a\nb\tc"
    assert clean("  a\nb\tc \r\n", single_line=True) == "a b c"
    assert "\n" not in clean("x\n" * 50, single_line=True)


def test_clean_caps_length_with_ellipsis() -> None:
    assert clean("a" * 100, 10) == "a" * 9 + "…"
    assert clean("a" * 10, 10) == "a" * 10
    assert clean("ab", 1) == "…"
    assert len(clean("x" * 100_000)) == MAX_FIELD


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ([], ""),
        ({}, ""),
        (["a"], ""),
        ({"a": "b"}, ""),
        (42, "42"),
        (-1, "-1"),
        (4.5, "4.5"),
        (True, "true"),
        (False, "false"),
        (b"\x1bbytes", ""),
        (object(), ""),
    ],
)
def test_clean_non_strings(value: object, expected: str) -> None:
    assert clean(value) == expected


def test_clean_lone_surrogate_becomes_encodable() -> None:
    text = clean("a\ud800b")
    assert text.startswith("a") and text.endswith("b")
    text.encode("utf-8")


def test_clean_one_megabyte_of_hostile_text() -> None:
    # How long it takes: tests/perf/bench_components.py.
    chunk = "\x1b[31m\x1b]52;c;QUJD\x07\u202e[@click=app.quit][/]\x00\x9b\r\nword "
    huge = (chunk * (1_000_000 // len(chunk) + 1))[:1_000_000]
    short = clean(huge)
    single = clean(huge, MAX_TEXT, single_line=True)
    whole = clean(huge, 2_000_000)  # no cut: the full regex pass
    for text in (short, single, whole):
        assert_inert(text)
    assert len(short) == MAX_FIELD and len(single) == MAX_TEXT
    assert "[@click=app.quit]" in whole


def test_parse_task_with_hostile_fields() -> None:
    hostile = "\x1b[2J\x1b]52;c;QUJD\x07\u202e[@click=app.quit][/]\x00\x9b\rX\n"
    task = parsed(
        dict(
            FINISHED,
            prompt=hostile * 100_000,
            failReason=hostile,
            description=hostile,
            imageUrl="https://x/\x1b[1m\nimg",
            action=hostile,
            buttons=[{"customId": "MJ::X\x1b::1", "label": hostile, "emoji": hostile}],
        )
    )
    for text in (task.prompt, task.fail_reason, task.description, task.action, task.image_url):
        assert_inert(text)
    assert "[@click=app.quit][/]" in task.fail_reason
    assert len(task.prompt) <= MAX_TEXT
    assert "\n" not in task.image_url and "\n" not in task.action
    button = task.buttons[0]
    for text in (button.custom_id, button.label, button.emoji, button.name):
        assert_inert(text)
        assert "\n" not in text


def test_parse_task_with_a_megabyte_prompt_caps_it() -> None:
    # How long it takes: tests/perf/bench_components.py.
    answer = dict(RUNNING, prompt="p\x1b" * 500_000, promptEn="q" * 1_000_000)
    task = parsed(answer)
    assert len(task.prompt) <= MAX_TEXT and len(task.prompt_en) <= MAX_TEXT
    assert_inert(task.prompt)


@FAST
@given(text=hostile_text, max_len=st.integers(1, 80), single_line=st.booleans())
def test_clean_property(text: str, max_len: int, single_line: bool) -> None:
    result = clean(text, max_len, single_line=single_line)
    assert_inert(result)
    assert len(result) <= max_len
    if single_line:
        assert "\n" not in result and "\t" not in result
    # Cleaning twice changes nothing (the cache relies on this for its round trip).
    assert clean(result, max_len, single_line=single_line) == result


@FAST
@given(
    text=st.text(
        st.characters(exclude_categories=["Cs"], exclude_characters=FORBIDDEN | {"\r"}),
        max_size=60,
    )
)
def test_clean_leaves_ordinary_text_alone(text: str) -> None:
    assert clean(text, 60) == text


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.just(10**400),
    st.floats(),
    hostile_text,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@FAST
@given(value=json_values, max_len=st.integers(1, 50), single_line=st.booleans())
def test_clean_never_raises_on_json(value: object, max_len: int, single_line: bool) -> None:
    result = clean(value, max_len, single_line=single_line)
    assert isinstance(result, str)
    assert len(result) <= max_len
    assert_inert(result)


# --- parse_task never raises; round trip ---------------------------------------------------

REAL_KEYS = [
    "id", "action", "customId", "botType", "prompt", "promptEn", "description", "state",
    "submitTime", "startTime", "finishTime", "imageUrl", "videoUrl", "status", "progress",
    "failReason", "buttons", "maskBase64", "properties",
]  # fmt: skip


def assert_task_is_clean(task: Task) -> None:
    for name in (
        "id", "status_raw", "action", "prompt", "prompt_en", "final_prompt", "description",
        "fail_reason", "image_url", "video_url", "custom_id", "bot_type", "state",
    ):  # fmt: skip
        value = getattr(task, name)
        assert isinstance(value, str)
        assert_inert(value)
        assert len(value) <= MAX_TEXT
    assert task.progress is None or 0 <= task.progress <= 100
    for moment in (task.submit_time, task.start_time, task.finish_time):
        assert moment is None or moment.utcoffset() == timedelta(0)
    for button in task.buttons:
        assert button.custom_id
        for text in (button.custom_id, button.label, button.emoji, button.name):
            assert_inert(text)
            assert "\n" not in text


@FAST
@given(value=json_values, expected_id=st.none() | st.just(ID))
def test_parse_task_never_raises(value: object, expected_id: str | None) -> None:
    result = parse_task(value, expected_id)
    assert isinstance(result, Task | BadTask)
    if isinstance(result, Task):
        assert_task_is_clean(result)
    else:
        assert_inert(result.reason)


@FAST
@given(st.fixed_dictionaries({}, optional=dict.fromkeys(REAL_KEYS, json_values)))
def test_parse_task_with_real_keys_never_raises(obj: dict) -> None:
    result = parse_task(obj)
    assert isinstance(result, Task | BadTask)
    if isinstance(result, Task):
        assert_task_is_clean(result)


@FAST
@given(
    st.fixed_dictionaries({"id": st.just(ID)}, optional=dict.fromkeys(REAL_KEYS[1:], json_values))
)
def test_one_bad_field_never_loses_the_task(obj: dict) -> None:
    # P2: a usable id means a Task, whatever the other fields hold.
    task = parse_task(obj)
    assert isinstance(task, Task), task
    assert task.id == ID
    assert_task_is_clean(task)


BUTTON_IDS = [
    "MJ::JOB::upsample::{n}::{h}",
    "MJ::JOB::variation::{n}::{h}",
    "MJ::JOB::reroll::0::{h}::SOLO",
    "MJ::JOB::upsample_v6_2x_subtle::1::{h}::SOLO",
    "MJ::JOB::upsample_v7_2x_creative::1::{h}::SOLO",
    "MJ::JOB::upsample_v5_4x::1::{h}::SOLO",
    "MJ::JOB::low_variation::1::{h}::SOLO",
    "MJ::Inpaint::1::{h}::SOLO",
    "MJ::Outpaint::50::1::{h}::SOLO",
    "MJ::CustomZoom::{h}",
    "MJ::JOB::pan_left::1::{h}::SOLO",
    "MJ::Job::PicReader::{n}",
    "MJ::Picread::Retry",
]

button_dicts = st.fixed_dictionaries(
    {
        "customId": st.one_of(
            st.builds(
                lambda fmt, n, h: fmt.format(n=n, h=h),
                st.sampled_from(BUTTON_IDS),
                st.integers(1, 4),
                st.uuids().map(str),
            ),
            hostile_text,
        ),
    },
    optional={
        "label": st.one_of(
            st.sampled_from(["", "U1", "V2", "1️⃣", "Upscale (Subtle)"]), hostile_text
        ),
        "emoji": st.one_of(st.sampled_from(["", "🔄", "⬅️", "1️⃣", "🖌️"]), hostile_text),
        "type": st.one_of(st.none(), st.integers(), st.just("2"), hostile_text),
        "style": st.one_of(st.none(), st.integers(0, 5), hostile_text),
    },
)

ms_values = st.integers(946_684_800_000, 7_258_118_400_000)
time_values = st.one_of(
    st.just(0),
    ms_values,
    ms_values.map(str),
    st.integers(946_684_800, 7_258_118_400),  # seconds
    st.floats(946_684_800, 7_258_118_400),  # seconds with a fraction
    st.floats(946_684_800_000, 7_258_118_400_000),
    st.just(10**400),
    json_scalars,
)
progress_values = st.one_of(
    st.integers(-10, 200).map(lambda n: f"{n}%"),
    st.integers(-10, 200),
    st.floats(),
    st.just(10**400),
    json_scalars,
)
status_values = st.one_of(
    st.sampled_from([*(s.value for s in Status), "", "success", "WEIRD", " MODAL "]),
    json_scalars,
)
text_values = st.one_of(hostile_text, st.text(max_size=3000), json_scalars)

real_shaped = st.fixed_dictionaries(
    {"id": st.one_of(st.from_regex(r"[1-9][0-9]{15,18}", fullmatch=True), st.integers(10**15))},
    optional={
        "action": st.one_of(st.sampled_from(["IMAGINE", "upscale", "ß" * 30]), text_values),
        "customId": text_values,
        "botType": st.one_of(st.sampled_from(["MID_JOURNEY", "NIJI_JOURNEY"]), text_values),
        "prompt": text_values,
        "promptEn": text_values,
        "description": text_values,
        "state": text_values,
        "submitTime": time_values,
        "startTime": time_values,
        "finishTime": time_values,
        "imageUrl": text_values,
        "videoUrl": text_values,
        "status": status_values,
        "progress": progress_values,
        "failReason": text_values,
        "buttons": st.one_of(st.none(), st.lists(button_dicts, max_size=6), json_scalars),
        "maskBase64": st.one_of(st.just(""), hostile_text, json_scalars),
        "properties": st.one_of(
            st.none(), st.fixed_dictionaries({"finalPrompt": text_values}), json_scalars
        ),
        "extra": json_values,
    },
)


@FAST
@given(real_shaped)
def test_round_trip(obj: dict) -> None:
    task = parse_task(obj)
    assert isinstance(task, Task), task
    assert_task_is_clean(task)
    assert parse_task(task.to_api_dict()) == task
    # Through JSON text as well, as the cache stores it.
    assert parse_task(json.loads(json.dumps(task.to_api_dict()))) == task


def test_round_trip_of_every_status() -> None:
    for raw in [*(s.value for s in Status), "", None, "weird", "  "]:
        task = parsed({"id": ID, "status": raw})
        again = parse_task(task.to_api_dict())
        assert again == task, raw


# --- buttons -------------------------------------------------------------------------------

H = "a1b2c3d4-0000-4000-8000-123456789abc"
HD, D = "upscale_hd", "describe"

BUTTON_CASES = [
    # (customId, label, emoji, name, kind)
    *[(f"MJ::JOB::upsample::{i}::{H}", f"U{i}", "", f"U{i}", "upscale") for i in range(1, 5)],
    *[(f"MJ::JOB::upsample::{i}::{H}", "", "", f"U{i}", "upscale") for i in range(1, 5)],
    *[(f"MJ::JOB::variation::{i}::{H}", f"V{i}", "", f"V{i}", "variation") for i in range(1, 5)],
    *[(f"MJ::JOB::variation::{i}::{H}", "", "", f"V{i}", "variation") for i in range(1, 5)],
    (f"MJ::JOB::reroll::0::{H}::SOLO", "", "🔄", "Reroll", "reroll"),
    (f"MJ::JOB::reroll::0::{H}::SOLO", "🔄", "", "Reroll", "reroll"),
    *[
        (f"MJ::JOB::upsample_{v}_2x_{f.lower()}::1::{H}::SOLO", label, "", f"Upscale ({f})", HD)
        for v in ("v6", "v6r1", "v7")
        for f in ("Subtle", "Creative")
        for label in ("", f"Upscale ({f})")
    ],
    (f"MJ::JOB::upsample_v5_2x::1::{H}::SOLO", "", "", "Upscale (2x)", "upscale_hd"),
    (f"MJ::JOB::upsample_v5_4x::1::{H}::SOLO", "", "", "Upscale (4x)", "upscale_hd"),
    (f"MJ::JOB::low_variation::1::{H}::SOLO", "", "🪄", "Vary (Subtle)", "vary"),
    (f"MJ::JOB::high_variation::1::{H}::SOLO", "", "🪄", "Vary (Strong)", "vary"),
    (f"MJ::JOB::low_variation::1::{H}::SOLO", "Vary (Subtle)", "🪄", "Vary (Subtle)", "vary"),
    (f"MJ::Inpaint::1::{H}::SOLO", "", "🖌️", "Vary (Region)", "inpaint"),
    (f"MJ::Inpaint::1::{H}::SOLO", "Vary (Region)", "🖌️", "Vary (Region)", "inpaint"),
    (f"MJ::Outpaint::50::1::{H}::SOLO", "", "🔍", "Zoom Out 2x", "zoom"),
    (f"MJ::Outpaint::75::1::{H}::SOLO", "", "🔍", "Zoom Out 1.5x", "zoom"),
    (f"MJ::Outpaint::50::1::{H}::SOLO", "Zoom Out 2x", "🔍", "Zoom Out 2x", "zoom"),
    (f"MJ::CustomZoom::{H}", "", "🔍", "Custom Zoom", "custom_zoom"),
    (f"MJ::CustomZoom::{H}", "Custom Zoom", "🔍", "Custom Zoom", "custom_zoom"),
    (f"MJ::JOB::pan_left::1::{H}::SOLO", "", "⬅️", "Pan left", "pan"),
    (f"MJ::JOB::pan_right::1::{H}::SOLO", "", "➡️", "Pan right", "pan"),
    (f"MJ::JOB::pan_up::1::{H}::SOLO", "", "⬆️", "Pan up", "pan"),
    (f"MJ::JOB::pan_down::1::{H}::SOLO", "", "⬇️", "Pan down", "pan"),
    (f"MJ::JOB::pan_left::1::{H}::SOLO", "⬅️", "", "Pan left", "pan"),
    # Keycap emoji (1️⃣ is "1", U+FE0F, U+20E3), in the emoji field or as the label.
    *[
        (f"MJ::Job::PicReader::{i}", "", f"{i}\ufe0f\u20e3", f"Describe {i}", D)
        for i in range(1, 5)
    ],
    *[
        (f"MJ::Job::PicReader::{i}", f"{i}\ufe0f\u20e3", "", f"Describe {i}", D)
        for i in range(1, 5)
    ],
    *[(f"MJ::Job::PicReader::{i}", f"{i}\u20e3", "", f"Describe {i}", D) for i in range(1, 5)],
    ("MJ::Picread::Retry", "", "🔄", "Reroll", "describe_retry"),
    # trueai's ❤️: a bookmark, not a new task.
    ("MJ::BOOKMARK", "", "❤️", "Bookmark", "bookmark"),
    (f"MJ::BOOKMARK::{H}", "Bookmark", "", "Bookmark", "bookmark"),
    # Unknown customIds keep whatever the server shows.
    (f"MJ::JOB::animate_high::1::{H}::SOLO", "Animate (High)", "🎞️", "Animate (High)", "unknown"),
    ("MJ::Something::new", "", "❤️", "❤️", "unknown"),
    ("MJ::Something::new", "", "", "MJ::Something::new", "unknown"),
    (f"MJ::JOB::upsample::5::{H}", "U5", "", "U5", "unknown"),
    # A wordy label is the server's own name: kept.
    (f"MJ::JOB::upsample::1::{H}", "Upscale first", "", "Upscale first", "upscale"),
    (f"MJ::Outpaint::50::1::{H}::SOLO", "Zoom Out 2x (wide)", "🔍", "Zoom Out 2x (wide)", "zoom"),
    (f"MJ::JOB::reroll::0::{H}::SOLO", "Redo", "🔄", "Redo", "reroll"),
    (f"MJ::JOB::upsample::1::{H}", "放大1", "", "放大1", "upscale"),
]


@pytest.mark.parametrize(("custom_id", "label", "emoji", "name", "kind"), BUTTON_CASES)
def test_button_names(custom_id: str, label: str, emoji: str, name: str, kind: str) -> None:
    button = Button(custom_id=custom_id, label=label, emoji=emoji, type=2, style=2)
    assert button.name == name
    assert button.kind == kind
    assert button.opens_modal is (kind in ("custom_zoom", "inpaint"))
    assert button.starts_task is (kind != "bookmark")


def test_buttons_through_parse_task() -> None:
    cases = BUTTON_CASES[:100]
    buttons = [{"customId": cid, "label": label, "emoji": emoji} for cid, label, emoji, *_ in cases]
    task = parsed({"id": ID, "status": "SUCCESS", "buttons": buttons})
    expected = [name for _, _, _, name, _ in cases]
    assert [b.name for b in task.buttons] == expected


def test_only_custom_zoom_and_vary_region_open_a_modal() -> None:
    modal = {case[0] for case in BUTTON_CASES if Button(case[0]).opens_modal}
    assert {describe_custom_id(cid)[1] for cid in modal} == {"Custom Zoom", "Vary (Region)"}


@pytest.mark.parametrize(
    "custom_id",
    ["", "MJ::", "U1", "MJ::JOB::upsample::5::h", "mj::job::upsample::1::h", "xMJ::CustomZoom::h"],
)
def test_describe_custom_id_unknown(custom_id: str) -> None:
    assert describe_custom_id(custom_id) is None


def test_describe_custom_id_known() -> None:
    assert describe_custom_id(f"MJ::Outpaint::75::1::{H}::SOLO") == ("zoom", "Zoom Out 1.5x")
    assert describe_custom_id(f"MJ::Outpaint::60::1::{H}::SOLO") == ("zoom", "Zoom Out 60%")
    assert describe_custom_id(f"MJ::CustomZoom::{H}") == ("custom_zoom", "Custom Zoom")


def test_hostile_button_label_is_inert() -> None:
    task = parsed(
        {
            "id": ID,
            "buttons": [
                {
                    "customId": "MJ::BOOKMARK::x",
                    "label": "\x1b[2J[@click=app.quit]\u202eevil\nline",
                    "emoji": "\x07🔄",
                }
            ],
        }
    )
    button = task.buttons[0]
    assert_inert(button.name)
    assert "[@click=app.quit]" in button.name
    assert "\n" not in button.name
    assert button.emoji == "🔄"


# --- task ids in pasted text ---------------------------------------------------------------

A, B, C = "1773314942177684", "1726667730879410", "17733155007770019999"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (A, [A]),
        (f"  {A}\n{B}\n", [A, B]),
        (f"{A},{B};{C}", [A, B, C]),
        ('{"code":1,"description":"Submit success","result":"' + A + '","properties":{}}', [A]),
        (
            '{"code":22,"description":"queued","result":"'
            + B
            + '","properties":{"numberOfQueues":3}}',
            [B],
        ),
        (f"https://api.cometapi.com/mj/image/{A}", [A]),
        (f"https://api.cometapi.com/mj/image/{A}?rand=1773314975123456789", [A]),
        (f"https://x/mj/image/{A}?rand=1773314975123456", [A]),
        (f"https://x/mj/task/{A}/fetch", [A]),
        (f"2026-03-12 10:22:33,123 INFO task {A} SUCCESS (100%) after 33286 ms", [A]),
        (f"[{A}] failed: [Invalid parameter]", [A]),
        (f"{A} {B} {A} {B} {A}", [A, B]),
        (f"{B}\n{A}\n{B}", [B, A]),
        ("submitTime 1726667730879 startTime 1726667732086", []),  # 13-digit ms
        ("123456789012345", []),  # 15 digits
        ("1773314942177684", ["1773314942177684"]),  # 16
        ("17733149421776841234", ["17733149421776841234"]),  # 20
        ("1234567890123456", []),  # starts with a 2009 time: not a task id
        # A submit answer's discordInstanceId (a Discord snowflake) is not a task id.
        (
            '{"code":1,"result":"1773314942177684",'
            '"properties":{"discordInstanceId":"1257438470981632000"}}',
            ["1773314942177684"],
        ),
        ("123456789012345678901", []),  # 21: a longer number, not an id
        (f"task{A}", []),
        (f"{A}ms", []),
        (f"x{A}y {B}", [B]),
        (f"id_{A}", [A]),
        (f"id={A}", [A]),
        ("١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦", []),  # Arabic-Indic digits are not an id
        ("", []),
    ],
)
def test_extract_task_ids(text: str, expected: list[str]) -> None:
    assert extract_task_ids(text) == expected


def test_extract_from_example_answers() -> None:
    assert extract_task_ids(json.dumps(FINISHED)) == [FINISHED["id"]]
    assert extract_task_ids(json.dumps(RUNNING)) == [RUNNING["id"]]
    whole = "\n".join(json.dumps(a) for a in EXAMPLES)
    assert extract_task_ids(whole) == [a["id"] for a in EXAMPLES]


def test_extract_from_a_megabyte() -> None:
    # How long it takes: tests/perf/bench_components.py.
    text = (f"noise 1726667730879 {A} ?rand=1773314975123456789 " * 20_000)[:1_000_000]
    assert extract_task_ids(text) == [A]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (A, True),
        (C, True),
        ("1234567890123456", False),  # a 2009 time: not a real id
        ("0000000000000000", False),
        ("1773314942177684", True),
        ("123456789012345", False),
        ("123456789012345678901", False),
        ("", False),
        (f" {A}", False),
        (f"{A}\n", False),
        (f"{A}x", False),
        ("١" * 16, False),
        ("1" * 15 + "²", False),
    ],
)
def test_is_task_id(text: str, expected: bool) -> None:
    assert is_task_id(text) is expected


# Ids start with a submit time in epoch ms (2015..2100): 1.5e12 .. 3.9e12 here.
task_ids = st.from_regex(r"1[5-9][0-9]{14,18}|[23][0-9]{15,19}", fullmatch=True)
# Anything but ASCII letters and any kind of decimal digit may sit between ids.
separators = st.text(
    st.characters(
        exclude_categories=["Nd", "Cs"],
        exclude_characters="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    ),
    min_size=1,
    max_size=8,
)


@FAST
@given(ids=st.lists(task_ids, max_size=8), seps=st.lists(separators, min_size=9, max_size=9))
def test_extract_finds_every_embedded_id(ids: list[str], seps: list[str]) -> None:
    text = seps[0] + "".join(tid + sep for tid, sep in zip(ids, seps[1:], strict=False))
    assert extract_task_ids(text) == list(dict.fromkeys(ids))
    for tid in ids:
        assert is_task_id(tid)


@FAST
@given(st.text(st.characters(exclude_categories=["Cs"]), max_size=200))
def test_extract_only_returns_ids(text: str) -> None:
    found = extract_task_ids(text)
    assert all(is_task_id(tid) and tid in text for tid in found)
    assert len(found) == len(set(found))


# --- server families: kinds, results, clocks (issue 12) ---------------------------------------

from dataclasses import replace  # noqa: E402

from mjdash.model import kinds  # noqa: E402

_T0 = datetime(2026, 3, 12, 10, 0, tzinfo=UTC)


def _task(**fields) -> Task:
    return Task("1773314942177684", **fields)


@pytest.mark.parametrize(
    ("action", "custom_id", "pressed", "kind"),
    [
        ("CUSTOM_ZOOM", "", None, "zoom"),  # new-api
        ("INPAINT", "", None, "region"),  # new-api
        ("ZOOM", "", None, "zoom"),  # trueai: Custom Zoom, no customId
        ("VARIATION", "", None, "region"),  # trueai: Vary (Region)
        ("", "MJ::CustomZoom::abc", None, "zoom"),  # only the task's own customId tells
        ("SOMETHING", "", "MJ::Inpaint::1::abc::SOLO", "region"),  # the parent's button
        ("SOMETHING", "", Button("MJ::CustomZoom::abc"), "zoom"),
        ("SOMETHING", "", None, None),
    ],
)
def test_modal_kind_from_what_each_server_sends(action, custom_id, pressed, kind):
    task = _task(status=Status.MODAL, action=action, custom_id=custom_id)
    assert kinds.modal_kind(task, pressed) == kind
    assert kinds.modal_kind(replace(task, status=Status.SUCCESS), pressed) is None


def test_split_numbered_reads_keycaps_digits_and_plain_text():
    keycaps = "1️⃣ a cat --ar 4:3\n\n2️⃣ a dog\n\n3\u20e3 a fox\n\n4️⃣ an owl"
    assert kinds.split_numbered(keycaps) == ["a cat --ar 4:3", "a dog", "a fox", "an owl"]
    assert kinds.split_numbered("1. one\n2) two\n") == ["one", "two"]
    assert kinds.split_numbered("  just a prompt  ") == ["just a prompt"]
    assert kinds.split_numbered("") == []


def test_describe_and_shorten_results_come_from_where_each_server_puts_them():
    text = "1️⃣ a\n\n2️⃣ b\n\n3️⃣ c\n\n4️⃣ d"
    newapi = _task(action="DESCRIBE", status=Status.SUCCESS, prompt_en=text, final_prompt=text)
    assert kinds.describe_suggestions(newapi) == ["a", "b", "c", "d"]
    props_only = _task(action="DESCRIBE", status=Status.SUCCESS, final_prompt=text)
    assert kinds.describe_suggestions(props_only) == ["a", "b", "c", "d"]
    novicezk = _task(action="DESCRIBE", status=Status.SUCCESS, prompt=text)
    assert kinds.describe_suggestions(novicezk) == ["a", "b", "c", "d"]
    assert kinds.describe_suggestions(_task(action="IMAGINE", prompt_en=text)) == []
    running = _task(action="DESCRIBE", status=Status.IN_PROGRESS)
    assert kinds.describe_suggestions(running) == []
    trueai = _task(action="SHORTEN", description="1️⃣ x\n\n2️⃣ y", final_prompt="long prompt")
    assert kinds.shorten_results(trueai) == ["x", "y"]
    newapi_short = _task(action="SHORTEN", description="Submit success", final_prompt="1️⃣ x")
    assert kinds.shorten_results(newapi_short) == ["x"]
    assert kinds.shorten_results(_task(action="SHORTEN", description="Submit success")) == []


def test_prompt_fallbacks_blend_and_video_links():
    assert _task(prompt="a cat", prompt_en="un chat").shown_prompt == "a cat"
    assert _task(prompt="", prompt_en="a cat").shown_prompt == "a cat"
    assert _task(prompt="", final_prompt="a cat").shown_prompt == "a cat"
    assert _task(action="BLEND").shown_prompt == "blend"
    assert _task(action="DESCRIBE", prompt_en="1️⃣ a").shown_prompt == "describe"
    video = parse_task(
        {
            "id": "1773314942177684",
            "videoUrl": "https://v.invalid/1.mp4",
            "videoUrls": [
                {"url": "https://v.invalid/1.mp4"},
                {"url": "https://v.invalid/2.mp4"},
                "https://v.invalid/3.mp4",
                {"url": None},
                42,
                {"url": "https://v.invalid/\x1b[31m4.mp4"},
            ],
            "imageUrls": "not a list",
            "parentId": True,
        }
    )
    assert video.video_links == (
        "https://v.invalid/1.mp4",
        "https://v.invalid/2.mp4",
        "https://v.invalid/3.mp4",
        "https://v.invalid/ [31m4.mp4",  # the escape made inert
    )
    assert (video.image_urls, video.parent_id) == ((), "")
    assert parse_task({"id": "1773314942177684", "parentId": "../../etc"}).parent_id == ""
    assert parse_task({"id": "1773314942177684", "parentId": 1773314942177000}).parent_id == (
        "1773314942177000"
    )
    assert parse_task(video.to_api_dict()) == video


@pytest.mark.parametrize(
    "action",
    ["IMAGINE", "PAN", "ZOOM", "LOW_VARIATION", "HIGH_VARIATION", "REROLL", "BLEND", "VARIATION"],
)
def test_every_grid_action_is_a_grid(action):
    buttons = tuple(Button(f"MJ::JOB::upsample::{n}::h", f"U{n}") for n in range(1, 5))
    assert kinds.makes_grid(_task(action=action, status=Status.SUCCESS, buttons=buttons))
    assert not kinds.makes_grid(_task(action="UPSCALE", status=Status.SUCCESS, buttons=buttons))
    # midjourney-proxy v2 sends no buttons: a finished grid is still one (labelled quadrants).
    assert kinds.makes_grid(_task(action=action, status=Status.SUCCESS))
    assert not kinds.makes_grid(_task(action=action, status=Status.IN_PROGRESS))
    other = (Button("MJ::JOB::reroll::0::h", "🔄"),)
    assert not kinds.makes_grid(_task(action=action, status=Status.SUCCESS, buttons=other))


def test_refused_buttons_per_family_and_learned():
    reader = Button("MJ::Job::PicReader::1")
    analyzer = Button("MJ::Job::PromptAnalyzer::h::SOLO::1")
    upscale = Button("MJ::JOB::upsample::1::h")
    assert kinds.refusal(reader, "newapi") and kinds.refusal(analyzer, "newapi")
    assert kinds.refusal(Button("MJ::Picread::Retry"), "newapi")
    assert kinds.refusal(upscale, "newapi") is None
    assert kinds.refusal(reader, "trueai") is None and kinds.refusal(reader, None) is None
    assert kinds.refusal(upscale, "novicezk")
    learned = {kinds.refused_prefix("MJ::JOB::pan_left::1::abc::SOLO")}
    assert learned == {"MJ::JOB::pan_left::"}
    assert kinds.refusal(Button("MJ::JOB::pan_left::1::other::SOLO"), None, learned)
    assert kinds.refusal(upscale, None, learned) is None


def test_the_row_that_moved_wins_never_the_first_blindly():
    modal = _task(status=Status.MODAL, action="INPAINT", submit_time=_T0)
    pending = _task(status=Status.PENDING, action="MODAL", submit_time=_T0)
    running = _task(
        status=Status.IN_PROGRESS, submit_time=_T0, start_time=_T0 + timedelta(seconds=5)
    )
    # The continued row says MODAL; the kept task takes the action that says what it is.
    assert kinds.moved_row([modal, pending]) == replace(pending, action="INPAINT")
    assert kinds.moved_row([running, modal]) is running
    # Both final (new-api's sweep fails the stale MODAL row, finishTime 0): the latest time.
    swept = _task(status=Status.FAILURE, submit_time=_T0)
    done = _task(status=Status.SUCCESS, submit_time=_T0, finish_time=_T0 + timedelta(minutes=2))
    assert kinds.moved_row([swept, done]) is done and kinds.moved_row([done, swept]) is done
    with pytest.raises(ValueError):
        kinds.moved_row([])


def test_clocks_of_final_tasks_without_a_finish_time_and_of_modal_ones():
    start = _T0 + timedelta(seconds=10)
    later = _T0 + timedelta(hours=2)
    swept = _task(status=Status.FAILURE, submit_time=_T0, start_time=start)  # finishTime 0
    assert swept.clock_stops_when_seen
    seen = _T0 + timedelta(hours=1, seconds=10)
    assert swept.elapsed(later, first_seen_final=seen) == timedelta(hours=1)
    assert swept.elapsed(later) == later - start  # not seen yet: the board sets the moment
    finished = replace(swept, finish_time=start + timedelta(seconds=30))
    assert not finished.clock_stops_when_seen
    assert finished.elapsed(later, first_seen_final=seen) == timedelta(seconds=30)
    running = _task(status=Status.IN_PROGRESS, start_time=start)
    assert running.elapsed(later, first_seen_final=seen) == later - start  # not final: ignored
    modal = _task(status=Status.MODAL, submit_time=_T0)
    entered = _T0 + timedelta(minutes=30)
    assert modal.elapsed(later) == timedelta(hours=2)
    assert modal.elapsed(later, modal_since=entered) == timedelta(hours=1, minutes=30)
