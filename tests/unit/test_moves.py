"""Planning batch moves (mjdash.model.moves): buttons by label, derived name or customId,
"all four", skips and their reasons, the typed-number cap, retry prompts, the stall rule.

Tasks are built from API-shaped answers (docs/api.md's task object), not from the simulator.
"""

from __future__ import annotations

from mjdash.model.moves import (
    ALREADY_PRESSED,
    FAILED,
    NO_BUTTONS,
    NO_SUCH_BUTTON,
    NOT_FETCHED,
    NOT_FINISHED,
    OPENS_DIALOG,
    copy_lines,
    expand_buttons,
    find_button,
    is_grid,
    needs_typed_confirm,
    plan_press,
    plan_retry,
    press_question,
    prompt_options,
    retry_prompt,
    stalled_ids,
)
from mjdash.model.task import Task, parse_task

H = "0b5a3c1e-2d4f-4a6b-8c9d-0e1f2a3b4c5d"


def grid_buttons(h: str = H) -> list[dict]:
    """A v6 grid's buttons as CometAPI sends them (label "U1", emoji-only reroll)."""
    buttons = [{"customId": f"MJ::JOB::upsample::{n}::{h}", "label": f"U{n}"} for n in range(1, 5)]
    buttons += [
        {"customId": f"MJ::JOB::variation::{n}::{h}", "label": f"V{n}"} for n in range(1, 5)
    ]
    buttons.append({"customId": f"MJ::JOB::reroll::0::{h}::SOLO", "emoji": "🔄", "label": ""})
    return buttons


def upscale_buttons(h: str = H) -> list[dict]:
    """An upscale's buttons: wordy labels and emoji-only ones, names derived from customIds."""
    return [
        {"customId": f"MJ::JOB::upsample_v6_2x_subtle::1::{h}::SOLO", "label": ""},
        {"customId": f"MJ::JOB::upsample_v6_2x_creative::1::{h}::SOLO", "label": ""},
        {"customId": f"MJ::Outpaint::50::1::{h}::SOLO", "label": "Zoom Out 2x"},
        {"customId": f"MJ::CustomZoom::{h}", "label": "Custom Zoom"},
    ]


def task(task_id: str, status: str = "SUCCESS", **fields) -> Task:
    obj = {
        "id": task_id,
        "action": fields.pop("action", "IMAGINE"),
        "status": status,
        "progress": "100%",
        "prompt": fields.pop("prompt", "a fox --ar 3:2"),
        "buttons": fields.pop("buttons", grid_buttons() if status == "SUCCESS" else []),
        **fields,
    }
    parsed = parse_task(obj)
    assert isinstance(parsed, Task)
    return parsed


A, B, C, D = (f"17123456789012{n:02d}" for n in range(4))
H_U1 = f"MJ::JOB::upsample::1::{H}"


def test_a_button_is_found_by_label_by_derived_name_and_by_custom_id():
    grid = task(A)
    assert find_button(grid, "U1").custom_id == f"MJ::JOB::upsample::1::{H}"
    assert find_button(grid, " u3 ").custom_id == f"MJ::JOB::upsample::3::{H}"
    assert find_button(grid, "Reroll").custom_id.startswith("MJ::JOB::reroll::")
    assert find_button(grid, f"MJ::JOB::variation::2::{H}").name == "V2"
    assert find_button(grid, "U5") is None
    assert find_button(grid, "") is None
    up = task(B, action="UPSCALE", buttons=upscale_buttons())
    assert find_button(up, "upscale (subtle)").custom_id.startswith("MJ::JOB::upsample_v6_2x_sub")
    assert find_button(up, "Zoom Out  2x").custom_id.startswith("MJ::Outpaint::50::")


def test_all_four_is_u1_to_u4_each_once():
    assert expand_buttons(["all four"]) == ["U1", "U2", "U3", "U4"]
    assert expand_buttons(["U2", "U1-U4"]) == ["U2", "U1", "U3", "U4"]
    plan = plan_press([A, B], {A: task(A), B: task(B)}, ["all four"])
    assert [(p.task_id, p.button) for p in plan.presses] == [
        (A, "U1"), (A, "U2"), (A, "U3"), (A, "U4"),
        (B, "U1"), (B, "U2"), (B, "U3"), (B, "U4"),
    ]  # fmt: skip


def test_tasks_lacking_the_button_are_listed_with_the_reason():
    tasks = {
        A: task(A),
        B: task(B, "IN_PROGRESS"),
        C: task(C, action="UPSCALE", buttons=upscale_buttons()),
        D: None,
    }
    plan = plan_press([A, B, C, D, A], tasks, ["U1"])
    assert [p.task_id for p in plan.presses] == [A]
    assert [(s.task_id, s.reason) for s in plan.lacking] == [
        (B, NOT_FINISHED),
        (C, NO_SUCH_BUTTON),
        (D, NOT_FETCHED),
    ]


def test_a_failed_task_and_a_server_without_buttons_are_named_as_such():
    # novicezk's midjourney-proxy v2 sends no `buttons` at all (docs/api.md, "How the real
    # servers differ"): "no such button" would send the user looking for a typo.
    bare = {"id": C, "action": "IMAGINE", "status": "SUCCESS", "progress": "100%", "prompt": "x"}
    no_buttons = parse_task(bare)
    assert isinstance(no_buttons, Task) and no_buttons.buttons == ()
    tasks = {A: task(A, "FAILURE"), B: task(B, "CANCEL"), C: no_buttons}
    plan = plan_press([A, B, C], tasks, ["U1"])
    assert plan.presses == ()
    assert [(s.task_id, s.reason) for s in plan.lacking] == [
        (A, FAILED),
        (B, FAILED),
        (C, NO_BUTTONS),
    ]
    assert "2 failed, 1 no buttons" in press_question(plan, ["U1"], 1.0)


def test_a_running_task_that_already_lists_the_button_is_not_pressed():
    running = task(A, "IN_PROGRESS", buttons=grid_buttons())
    plan = plan_press([A], {A: running}, ["U1"])
    assert plan.presses == () and plan.lacking[0].reason == NOT_FINISHED


def test_already_pressed_buttons_are_skipped_unless_again():
    used = {A: [f"MJ::JOB::upsample::1::{H}"]}
    tasks = {A: task(A), B: task(B)}
    plan = plan_press([A, B], tasks, ["U1"], lambda i: used.get(i, []))
    assert [p.task_id for p in plan.presses] == [B]
    assert [(s.task_id, s.reason) for s in plan.already] == [(A, ALREADY_PRESSED)]
    again = plan_press([A, B], tasks, ["U1"], lambda i: used.get(i, []), again=True)
    assert [p.task_id for p in again.presses] == [A, B] and again.already == ()


def test_buttons_that_open_a_dialog_are_not_batch_pressed():
    up = task(A, action="UPSCALE", buttons=upscale_buttons())
    plan = plan_press([A], {A: up}, ["Custom Zoom"])
    assert plan.presses == () and plan.lacking[0].reason == OPENS_DIALOG


def test_only_finished_grids_count_as_grids():
    assert is_grid(task(A))
    assert not is_grid(task(A, "FAILURE"))
    assert not is_grid(task(A, action="UPSCALE", buttons=upscale_buttons()))


def test_the_typed_number_is_asked_over_the_cap_only():
    assert not needs_typed_confirm(20, 20)
    assert needs_typed_confirm(21, 20)
    assert needs_typed_confirm(1, 0)


def test_prompt_options_read_values_flags_and_multi_word_no():
    assert prompt_options("a fox --ar 3:2 --v 6.1 --fast --no red hats --stylize 250") == [
        ("ar", "3:2"),
        ("v", "6.1"),
        ("fast", ""),
        ("no", "red hats"),
        ("stylize", "250"),
    ]
    assert prompt_options("plain words only") == []


def test_retry_prompt_prefers_the_final_prompt_and_keeps_the_original_options():
    translated = task(
        A,
        "FAILURE",
        prompt="一只狐狸 --ar 3:2 --relax",
        properties={"finalPrompt": "a fox --ar 3:2"},
    )
    assert retry_prompt(translated) == "a fox --ar 3:2 --relax"
    no_final = task(A, "FAILURE", prompt="  a heron --v 6 --turbo ", properties=None)
    assert retry_prompt(no_final) == "a heron --v 6 --turbo"
    same = task(A, "FAILURE", prompt="a koi --niji 6", properties={"finalPrompt": "a koi --niji 6"})
    assert retry_prompt(same) == "a koi --niji 6"


def test_retry_plans_failed_and_stalled_grids_and_says_why_others_are_left():
    tasks = {
        A: task(A, "FAILURE", prompt="a fox --fail", botType="NIJI_JOURNEY"),
        B: task(B, "IN_PROGRESS", prompt="a slow heron"),
        C: task(C),
        D: task(D, "FAILURE", action="UPSCALE", prompt="a koi"),
    }
    plan = plan_retry([A, B, C, D], tasks, stalled={B})
    assert [(r.task_id, r.prompt, r.bot_type) for r in plan.retries] == [
        (A, "a fox --fail", "NIJI_JOURNEY"),
        (B, "a slow heron", "MID_JOURNEY"),
    ]
    reasons = {s.task_id: s.reason for s in plan.skipped}
    assert "not failed or stalled" in reasons[C]
    assert "press its button" in reasons[D]
    retried = plan_retry([A], tasks, retried={A})
    assert retried.retries == () and retried.skipped[0].reason == "retried already"
    assert plan_retry([A], tasks, retried={A}, again=True).count == 1


def test_a_failed_blend_without_a_prompt_is_not_retried():
    blend = task(A, "FAILURE", prompt="", properties=None)
    plan = plan_retry([A], {A: blend})
    assert plan.retries == () and "no prompt" in plan.skipped[0].reason


def test_stalled_uses_the_dashboard_rule_on_the_journal_history():
    running = task(A, "IN_PROGRESS", progress="40%")
    moving = task(B, "IN_PROGRESS", progress="60%")
    queued = task(C, "SUBMITTED", progress="0%")
    now = 10_000.0
    history = {
        A: (now - 11 * 60, ("IN_PROGRESS", 40)),  # unchanged for 11 minutes: stalled
        B: (now - 11 * 60, ("IN_PROGRESS", 50)),  # it moved since: not stalled
        C: (now - 16 * 60, ("SUBMITTED", 0)),  # queued for 16 minutes: stalled
    }
    found = stalled_ids([running, moving, queued], history, now, after=600, queue_after=900)
    assert found == {A, C}
    assert stalled_ids([running], {}, now, after=600, queue_after=900) == set()


def test_the_confirm_question_counts_jobs_and_says_which_lack_the_button():
    tasks = {A: task(A), B: task(B), C: task(C, "IN_PROGRESS"), D: None}
    plan = plan_press([A, B, C, D], tasks, ["all four"])
    assert press_question(plan, ["U1", "U2", "U3", "U4"], 1.0) == (
        "press U1, U2, U3, U4: 8 jobs on 2 tasks, 1 s apart (2 lack it: 1 not finished, "
        "1 not fetched)"
    )
    one = plan_press([A], tasks, ["U1"])
    assert (
        press_question(one, ["U1\x1b[31m"], 0)
        == "press U1 [31m: 1 job on 1 task, no wait between them"
    )
    pressed = plan_press([A, B], tasks, ["U1"], lambda i: [H_U1] if i == A else [])
    assert press_question(pressed, ["U1"], 1.0) == (
        "press U1: 1 job on 1 task, 1 s apart, 1 pressed before (skipped)"
    )


def test_copy_for_marks_gives_ids_a_buttons_custom_ids_or_prompts_one_a_line():
    tasks = {
        A: task(A, prompt="a fox\n--ar 3:2"),
        B: task(B, "FAILURE", prompt="a heron"),
        C: None,
    }
    assert copy_lines([A, B, C, A], tasks, "ids") == [A, B, C]
    assert copy_lines([A, B, C], tasks, "custom_ids", "U2") == [f"MJ::JOB::upsample::2::{H}"]
    assert copy_lines([A, B, C], tasks, "prompts") == ["a fox --ar 3:2", "a heron"]
