"""Midjourney's button sets and what pressing each one starts (docs/api.md, "Buttons")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# What a finished task shows: a grid of four, one upscaled image, or a describe answer.
GRID = "grid"
UPSCALE = "upscale"
DESCRIBE = "describe"
SHORTEN = "shorten"
VIDEO = "video"
BOOKMARK = "MJ::BOOKMARK"


def _button(custom_id: str, label: str = "", emoji: str = "", style: int = 2) -> dict[str, Any]:
    return {"customId": custom_id, "emoji": emoji, "label": label, "type": 2, "style": style}


def grid_buttons(message_hash: str) -> list[dict[str, Any]]:
    """U1-U4, reroll, V1-V4: nine buttons, in Midjourney's order."""
    buttons = [_button(f"MJ::JOB::upsample::{n}::{message_hash}", f"U{n}") for n in range(1, 5)]
    buttons.append(_button(f"MJ::JOB::reroll::0::{message_hash}::SOLO", emoji="🔄"))
    buttons += [_button(f"MJ::JOB::variation::{n}::{message_hash}", f"V{n}") for n in range(1, 5)]
    return buttons


def _upscale_flavours(prompt: str) -> list[tuple[str, str]]:
    """(customId stem, label) of the two upscale buttons, which depend on the model version."""
    version = re.search(r"--v(?:ersion)?\s+([0-9.]+)", prompt)
    number = version[1] if version else "6"
    if number.startswith("5"):
        return [("upsample_v5_2x", "Upscale (2x)"), ("upsample_v5_4x", "Upscale (4x)")]
    if number.startswith("7"):
        stem = "upsample_v7"
    elif number == "6.1":
        stem = "upsample_v6r1"
    else:
        stem = "upsample_v6"
    return [
        (f"{stem}_2x_subtle", "Upscale (Subtle)"),
        (f"{stem}_2x_creative", "Upscale (Creative)"),
    ]


def upscale_buttons(message_hash: str, prompt: str = "") -> list[dict[str, Any]]:
    """The twelve buttons under an upscaled image."""
    h = message_hash
    flavours = _upscale_flavours(prompt)
    buttons = [_button(f"MJ::JOB::{stem}::1::{h}::SOLO", label) for stem, label in flavours]
    buttons += [
        _button(f"MJ::JOB::low_variation::1::{h}::SOLO", "Vary (Subtle)", "🪄"),
        _button(f"MJ::JOB::high_variation::1::{h}::SOLO", "Vary (Strong)", "🪄"),
        _button(f"MJ::Inpaint::1::{h}::SOLO", "Vary (Region)", "🖌️"),
        _button(f"MJ::Outpaint::50::1::{h}::SOLO", "Zoom Out 2x", "🔍"),
        _button(f"MJ::Outpaint::75::1::{h}::SOLO", "Zoom Out 1.5x", "🔍"),
        _button(f"MJ::CustomZoom::{h}", "Custom Zoom", "🔍"),
    ]
    for direction, emoji in (("left", "⬅️"), ("right", "➡️"), ("up", "⬆️"), ("down", "⬇️")):
        buttons.append(_button(f"MJ::JOB::pan_{direction}::1::{h}::SOLO", emoji=emoji))
    return buttons


def describe_buttons() -> list[dict[str, Any]]:
    """1️⃣-4️⃣ (imagine that suggestion) and 🔄 (describe again)."""
    buttons = [_button(f"MJ::Job::PicReader::{n}", emoji=f"{n}\ufe0f\u20e3") for n in range(1, 5)]
    buttons.append(_button("MJ::Picread::Retry", emoji="🔄"))
    return buttons


def shorten_buttons(message_hash: str) -> list[dict[str, Any]]:
    """1️⃣-5️⃣: imagine that shortened prompt (new-api refuses these customIds)."""
    return [
        _button(f"MJ::Job::PromptAnalyzer::{message_hash}::SOLO::{n}", emoji=f"{n}\ufe0f\u20e3")
        for n in range(1, 6)
    ]


def buttons_for(
    kind: str, message_hash: str, prompt: str, *, bookmark: bool = False
) -> list[dict[str, Any]]:
    if kind == UPSCALE:
        buttons = upscale_buttons(message_hash, prompt)
        if bookmark:
            buttons.append(_button(BOOKMARK, emoji="❤️"))
        return buttons
    if kind == DESCRIBE:
        return describe_buttons()
    if kind == SHORTEN:
        return shorten_buttons(message_hash)
    if kind == VIDEO:
        return []
    return grid_buttons(message_hash)


@dataclass(frozen=True)
class Press:
    """What pressing a button starts."""

    action: str  # the child task's action
    kind: str  # GRID, UPSCALE or DESCRIBE: the child's result
    render: tuple[float, float]  # render time range in simulated seconds
    opens_modal: bool = False
    suggestion: int = 0  # PicReader: which describe suggestion becomes the prompt


_GRID_RENDER = (30.0, 60.0)
_PRESSES: list[tuple[re.Pattern[str], Press]] = [
    (re.compile(r"^MJ::JOB::upsample::[1-4]::"), Press("UPSCALE", UPSCALE, (8.0, 12.0))),
    (re.compile(r"^MJ::JOB::upsample_v[0-9a-z_]+::"), Press("UPSCALE", UPSCALE, (15.0, 30.0))),
    (re.compile(r"^MJ::JOB::variation::[1-4]::"), Press("VARIATION", GRID, _GRID_RENDER)),
    (re.compile(r"^MJ::JOB::reroll::"), Press("REROLL", GRID, _GRID_RENDER)),
    (re.compile(r"^MJ::JOB::low_variation::"), Press("LOW_VARIATION", GRID, _GRID_RENDER)),
    (re.compile(r"^MJ::JOB::high_variation::"), Press("HIGH_VARIATION", GRID, _GRID_RENDER)),
    (re.compile(r"^MJ::Inpaint::"), Press("INPAINT", GRID, _GRID_RENDER, opens_modal=True)),
    (re.compile(r"^MJ::Outpaint::\d+::"), Press("ZOOM", GRID, _GRID_RENDER)),
    (re.compile(r"^MJ::CustomZoom::"), Press("CUSTOM_ZOOM", GRID, _GRID_RENDER, opens_modal=True)),
    (re.compile(r"^MJ::JOB::pan_(left|right|up|down)::"), Press("PAN", GRID, _GRID_RENDER)),
    (re.compile(r"^MJ::Picread::Retry"), Press("DESCRIBE", DESCRIBE, (4.0, 10.0))),
]
_PIC_READER = re.compile(r"^MJ::Job::PicReader::([1-4])$")
_PROMPT_ANALYZER = re.compile(r"^MJ::Job::PromptAnalyzer::[^:]+::SOLO::([1-5])$")


def press_for(custom_id: str) -> Press | None:
    """The action a customId starts, or None for a format the simulator does not know."""
    if m := _PIC_READER.match(custom_id) or _PROMPT_ANALYZER.match(custom_id):
        return Press("IMAGINE", GRID, _GRID_RENDER, suggestion=int(m[1]))
    for pattern, press in _PRESSES:
        if pattern.match(custom_id):
            return press
    return None


# Upscales from the U1-U4 buttons: pressing one twice answers code 21 "exists" [guess].
def is_grid_upscale(custom_id: str) -> bool:
    return _PRESSES[0][0].match(custom_id) is not None
