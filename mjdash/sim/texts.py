"""Words the simulator puts in tasks: plausible prompts, fail reasons, and hostile strings."""

from __future__ import annotations

import random

_SUBJECTS = [
    "a paper boat on calm water at sunrise",
    "cute cat girl",
    "isometric cozy library with warm light",
    "a lighthouse in a storm, oil painting",
    "neon koi fish in a rainy Tokyo alley",
    "portrait of an old fisherman, dramatic rim light",
    "a tiny robot watering a bonsai tree",
    "art nouveau poster of a hummingbird",
    "foggy pine forest seen from above",
    "retro-futuristic train station, 1970s sci-fi",
    "a bowl of ramen, studio food photography",
    "watercolor map of an imaginary island",
    "astronaut reading in a hammock on the moon",
    "glass teapot full of galaxies",
    "desert caravan at dusk, cinematic",
    "古风少女，水墨画",
    "city skyline made of stacked books",
    "macro shot of a dew-covered spider web",
]
_STYLES = ["", "", ", highly detailed", ", soft pastel palette", ", 35mm film", ", low poly"]
_PARAMS = [
    "",
    "--v 5.2",
    "--v 6.1",
    "--v 6.0",
    "--v 7",
    "--ar 16:9 --v 6.1",
    "--ar 2:3",
    "--niji 6",
]

FAIL_REASONS = [
    "[Invalid parameter] Invalid value",
    "[Invalid parameter] Unrecognized parameter(s): `--foo`",
    "Banned prompt detected",
    "Job action restricted",
    "上游任务超时（超过1小时）",
    "Invalid link",
    "Request cancelled due to image filters",
]
TIMEOUT_REASON = "上游任务超时（超过1小时）"  # new-api fails a task after 1 hour without progress

DESCRIBE_SOURCE = "https://cdn.example.invalid/uploads/lighthouse-sketch.png"


def random_prompt(rng: random.Random) -> str:
    text = rng.choice(_SUBJECTS) + rng.choice(_STYLES)
    params = rng.choice(_PARAMS)
    return f"{text} {params}" if params else text


def describe_suggestions(rng: random.Random) -> list[str]:
    """Four prompt suggestions, as a describe task's answer lists them."""
    styles = ["Moebius", "Hokusai", "a matte painting", "Studio Ghibli"]
    return [
        f"{pick}, in the style of {rng.choice(styles)} --ar 4:3"
        for pick in rng.sample(_SUBJECTS, 4)
    ]


def describe_text(suggestions: list[str]) -> str:
    """promptEn of a finished describe: keycap-numbered suggestions, blank lines between."""
    return "\n\n".join(f"{n}\ufe0f\u20e3 {text}" for n, text in enumerate(suggestions, 1))


def suggestion_from(prompt_en: str, number: int) -> str:
    """The `number`th suggestion out of a describe answer (for the 1️⃣-4️⃣ buttons)."""
    marker = f"{number}\ufe0f\u20e3"
    for part in prompt_en.split("\n\n"):
        if part.startswith(marker):
            return part[len(marker) :].strip()
    return prompt_en.strip()


# Server text is hostile (docs/reliability.md, P5): terminal escapes, OSC 52 clipboard writes,
# BEL, CR, NUL, bidi overrides and Rich/Textual markup.
ESC = "\x1b"
OSC52 = "\x1b]52;c;ZWNobyBwd25lZA==\x07"  # would write "echo pwned" to the clipboard
BIDI = "\u202e"
HOSTILE_PROMPT = (
    f"{ESC}[2J{ESC}[31mred text{ESC}[0m {OSC52} bell\x07 carriage\rreturn nul\x00byte "
    f"bidi {BIDI}gnp.exe\u202c [/] [bold]bold[/bold] [@click=app.quit]quit[/] --v 6.1"
)
HOSTILE_REASON = f"{ESC}[5mblink{ESC}[0m\x07 [/] [@click=app.quit]x[/] {BIDI}deliaf{OSC52}\r\x00"
HOSTILE_LABEL = f"[@click=app.quit]U1{ESC}[7m"
HOSTILE_EMOJI = f"{BIDI}🔄\x07"
HOSTILE_CUSTOM_ID_TAIL = f"{ESC}]52;c;aGk=\x07"


def huge_prompt(size: int = 1_000_000) -> str:
    """A prompt of `size` characters: the body stays just under 1 MiB (docs/reliability.md,
    rule 4)."""
    unit = "an endlessly detailed tapestry of tiny lanterns, "
    return (unit * (size // len(unit) + 1))[:size]


def shorten_text(prompt: str) -> str:
    """A SHORTEN answer: five numbered shorter prompts, blank lines between (Midjourney's form)."""
    words = [w for w in prompt.replace(",", " ").split() if not w.startswith("--")] or ["image"]
    picks = [words[: max(1, len(words) - n)] for n in range(5)]
    return "\n\n".join(f"{n}\ufe0f\u20e3 {' '.join(p)}" for n, p in enumerate(picks, 1))
