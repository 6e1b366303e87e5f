"""Every key binding of the dashboard, in one place: id, default keys, description, purpose.

The UI builds its `Binding`s from this registry (same id, same keys), the help screen groups
by `group`, and the config's `[keys]` table is checked against it (unknown ids, invalid key
names, two ids on one key) before the app starts. Key strings are Textual's: comma separated,
`ctrl+` / `shift+` / `alt+` modifiers, named keys ("escape", "pageup", "f5") or one printable
character ("/" is stored as Textual's name for it, "slash").

No Textual here: the names Textual understands are kept as a static list, checked against
Textual's own by tests/app/test_keymap_registry.py.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

GROUPS = ("move", "act", "copy", "view", "polling", "general")
GROUP_TITLES = {
    "move": "Move",
    "act": "Act on the task",
    "copy": "Copy",
    "view": "View",
    "polling": "Polling",
    "general": "General",
}

# Where a binding lives. "main" is the App (active everywhere unless shadowed); the widget
# scopes are active while that widget has the focus; the rest are dialogs (own screens).
SCOPES = (
    "main", "table", "buttons", "filter", "help", "confirm", "add", "choice", "modal_prompt",
    "moving", "move_confirm", "typed_count",
)  # fmt: skip
# "moving": while a batch move is being sent (its Esc comes before everything else).
WIDGET_SCOPES = ("table", "buttons", "filter")


@dataclass(frozen=True, slots=True)
class KeySpec:
    id: str  # the Binding id (what [keys] names)
    keys: str  # default, Textual's comma-separated key string
    description: str  # help wording: lower-case, says what happens
    group: str  # one of GROUPS
    scope: str = "main"
    display: str = ""  # how the help and footer show the key, when not Textual's default
    builtin: bool = False  # Textual's own key (DataTable home/end...): listed in help, fixed


def _k(*args, **kwargs) -> KeySpec:
    return KeySpec(*args, **kwargs)


REGISTRY: tuple[KeySpec, ...] = (
    # move
    _k("cursor_down", "j", "move down", "move", "table"),
    _k("cursor_up", "k", "move up", "move", "table"),
    _k("top", "g", "go to the first task", "move", "table"),
    _k("bottom", "G", "go to the last task", "move", "table"),
    _k("table_arrows", "up,down", "move up and down", "move", "table", "↑ ↓", True),
    _k("table_home_end", "home,end", "first or last task", "move", "table", "Home End", True),
    _k("table_pages", "pageup,pagedown", "a page up or down", "move", "table", "PgUp PgDn", True),
    _k("buttons_down", "j", "next button", "move", "buttons"),
    _k("buttons_up", "k", "previous button", "move", "buttons"),
    _k("buttons_top", "g,home", "first button", "move", "buttons", "g Home"),
    _k("buttons_bottom", "G,end", "last button", "move", "buttons", "G End"),
    _k(
        "focus_switch",
        "tab",
        "switch between the table and the buttons",
        "move",
        "main",
        "Tab",
        True,
    ),
    _k(
        "focus_buttons",
        "enter",
        "focus the task's buttons; on a button: press it",
        "move",
        "table",
        "Enter",
        True,
    ),
    _k("next_triage", "n", "go to the next task that needs you", "move"),
    _k("jump_parent", "h", "go to the task's parent", "move"),
    _k("toggle_collapse", "space", "fold or unfold a task's children", "move"),
    # act
    _k("add", "a", "add task ids", "act"),
    _k("remove", "d,delete", "stop watching the task", "act", display="d Del"),
    _k("press_u1", "1", "upscale image 1 (U1)", "act"),
    _k("press_u2", "2", "upscale image 2 (U2)", "act"),
    _k("press_u3", "3", "upscale image 3 (U3)", "act"),
    _k("press_u4", "4", "upscale image 4 (U4)", "act"),
    _k("press_v1", "exclamation_mark", "vary image 1 (V1)", "act", display="!"),
    _k("press_v2", "at", "vary image 2 (V2)", "act", display="@"),
    _k("press_v3", "number_sign", "vary image 3 (V3)", "act", display="#"),
    _k("press_v4", "dollar_sign", "vary image 4 (V4)", "act", display="$"),
    _k("choose_zoom", "z", "zoom out…", "act"),
    _k("choose_pan", "P", "pan…", "act"),
    _k("finish_modal", "m", "answer the MODAL prompt", "act"),
    _k("resubmit", "R", "submit again: failed or stalled (marked or selected)", "act"),
    _k("mark_toggle", "t", "mark or unmark the task (then the next row)", "act"),
    _k("mark_view", "T", "mark every task in view", "act"),
    _k("marks_clear", "ctrl+t", "clear the marks", "act"),
    _k("press_all_four", "U", "upscale all four: the grid or the marked grids", "act"),
    _k("press_named", "b", "press a button by name on the marked tasks…", "act"),
    _k("toggle_dismissed", "x", "dismiss or bring back the task", "act"),
    _k("download_images", "D", "download the image(s)", "act"),
    _k("open_image", "o", "open the image in the browser", "act"),
    _k("export", "E", "export the view", "act"),
    # copy
    _k("copy_task_id", "y", "copy the task id", "copy"),
    _k("copy_custom_id", "c", "copy the button's customId", "copy"),
    _k("copy_image_url", "u", "copy the image URL", "copy"),
    _k("copy_prompt", "Y", "copy the prompt", "copy"),
    _k("copy_as", "C", "copy as…", "copy"),
    # view
    _k("filter", "slash", "filter the tasks", "view", display="/"),
    _k("cycle_show", "f", "show: all, unfinished, failed, stalled", "view"),
    _k("cycle_sort", "s", "sort by the next column", "view"),
    _k("toggle_preview", "v", "show or hide the image preview", "view"),
    _k("cycle_preview", "i", "show the next of a grid's four images (U1-U4)", "view"),
    _k("contact_sheet", "V", "the contact sheet: finished tasks as thumbnails", "view"),
    _k("filter_clear", "escape", "clear the filter", "view", "filter", "Esc"),
    _k("filter_leave", "down", "back to the table", "view", "filter", "↓"),
    # polling
    _k("poll_now", "r", "poll now (and re-read the key file)", "polling"),
    _k("toggle_pause", "p", "pause or resume polling", "polling"),
    _k("faster", "plus,equals_sign", "poll more often", "polling", display="+"),
    _k("slower", "minus", "poll less often", "polling", display="-"),
    # general
    _k(
        "back",
        "escape",
        "back one level: buttons to the table, then clear the filter, then the marks",
        "general",
        display="Esc",
    ),
    _k("help", "question_mark", "this help", "general", display="?"),
    _k("quit", "q,ctrl+c", "quit (the watchlist is saved)", "general", display="q ^c"),
    # dialogs
    _k("help_close", "escape,q,question_mark", "close", "general", "help", "Esc q ?"),
    _k("help_down", "j", "scroll down", "move", "help"),
    _k("help_up", "k", "scroll up", "move", "help"),
    _k("confirm_yes", "y", "yes", "act", "confirm"),
    _k("confirm_no", "n,escape,q", "no", "act", "confirm", "n Esc q"),
    _k("add_cancel", "escape", "cancel", "general", "add", "Esc"),
    _k("choice_cancel", "escape,q", "cancel", "general", "choice", "Esc q"),
    _k("choice_down", "j", "next choice", "move", "choice"),
    _k("choice_up", "k", "previous choice", "move", "choice"),
    _k("modal_prompt_cancel", "escape", "cancel", "general", "modal_prompt", "Esc"),
    _k("stop_move", "escape", "stop the move: nothing more is sent", "act", "moving", "Esc"),
    _k("move_yes", "y", "send the move", "act", "move_confirm"),
    _k("move_no", "n,escape,q", "no, send nothing", "act", "move_confirm", "n Esc q"),
    _k("move_again", "a", "also press the ones pressed before", "act", "move_confirm"),
    _k("typed_cancel", "escape", "cancel", "general", "typed_count", "Esc"),
)

BY_ID: dict[str, KeySpec] = {spec.id: spec for spec in REGISTRY}
# The ids a user may rebind in [keys] (Textual's own keys are fixed).
CONFIGURABLE: tuple[str, ...] = tuple(s.id for s in REGISTRY if not s.builtin)


def specs(scope: str) -> list[KeySpec]:
    """The bindings of one screen or widget, in registry order (for BINDINGS and the help)."""
    return [spec for spec in REGISTRY if spec.scope == scope]


def by_group(scopes: tuple[str, ...]) -> list[tuple[str, list[KeySpec]]]:
    """(group title, specs) in GROUPS order, for the help of a screen made of `scopes`."""
    chosen = [spec for spec in REGISTRY if spec.scope in scopes]
    return [
        (GROUP_TITLES[group], [s for s in chosen if s.group == group])
        for group in GROUPS
        if any(s.group == group for s in chosen)
    ]


# --- key names -------------------------------------------------------------------------------

MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")
NAMED_KEYS = frozenset(
    {
        "escape", "enter", "tab", "space", "backspace", "delete", "insert", "home", "end",
        "pageup", "pagedown", "up", "down", "left", "right",
        *(f"f{n}" for n in range(1, 25)),
    }
)  # fmt: skip
# Textual's names for the other printable ASCII characters, "slash" for "/" and so on.
_REPLACEMENTS = {
    "solidus": "slash",
    "reverse_solidus": "backslash",
    "commercial_at": "at",
    "hyphen_minus": "minus",
    "plus_sign": "plus",
    "low_line": "underscore",
}


def character_key(character: str) -> str:
    """Textual's key name for one typed character ("/" -> "slash", "a" -> "a")."""
    if character.isalnum():
        return character
    try:
        name = unicodedata.name(character).lower().replace("-", "_").replace(" ", "_")
    except ValueError:
        return character
    return _REPLACEMENTS.get(name, name)


PUNCTUATION_KEYS = frozenset(
    character_key(chr(code)) for code in range(33, 127) if not chr(code).isalnum()
)


class KeyNameError(ValueError):
    pass


def normalise_key(key: str) -> str:
    """One key in Textual's spelling, or KeyNameError saying what is wrong with it."""
    text = key.strip()
    if not text:
        raise KeyNameError("an empty key name")
    if len(text) == 1:
        if not text.isprintable() or text.isspace():
            raise KeyNameError("not a key name (use 'space', 'tab'...)")
        return character_key(text)
    *modifiers, base = text.split("+") if not text.endswith("++") else [*text[:-2].split("+"), "+"]
    for modifier in modifiers:
        if modifier.lower() not in MODIFIERS:
            raise KeyNameError(f"unknown modifier {modifier!r} (modifiers: {', '.join(MODIFIERS)})")
    if len(base) == 1:
        base = character_key(base) if not base.isalpha() or not modifiers else base.lower()
    elif base.lower() in NAMED_KEYS or base.lower() in PUNCTUATION_KEYS:
        base = base.lower()
    else:
        raise KeyNameError(
            f"unknown key name {base!r} (a character, or one of: escape, enter, tab, space, "
            "backspace, delete, insert, home, end, pageup, pagedown, up, down, left, right, "
            "f1-f24, or a name like slash, question_mark)"
        )
    return "+".join([*(m.lower() for m in modifiers), base])


def parse_key_list(text: str) -> list[str]:
    """ "slash, ctrl+f" -> ["slash", "ctrl+f"]; KeyNameError for a bad one. A lone "," is the
    comma key only when written as its name, "comma"."""
    parts = [part for part in text.split(",")]
    if not any(part.strip() for part in parts):
        raise KeyNameError("no key given")
    keys = [normalise_key(part) for part in parts]
    return list(dict.fromkeys(keys))


def clashes(keymap: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    """(key, id, other id) for two ids on one key once `keymap` (id -> keys from [keys]) is
    applied: within one scope; or between the app and a widget scope when the user changed
    either binding from its default (the defaults shadow on purpose: Esc in the filter
    clears it, Esc elsewhere backs out)."""
    effective = {spec.id: (keymap.get(spec.id) or spec.keys.split(","), spec) for spec in REGISTRY}
    changed = {i for i, k in keymap.items() if i in BY_ID and k != BY_ID[i].keys.split(",")}
    found: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str, str]] = set()
    items = list(effective.items())
    for index, (first_id, (first_keys, first)) in enumerate(items):
        for second_id, (second_keys, second) in items[index + 1 :]:
            same = first.scope == second.scope
            shadow = {first.scope, second.scope} & {"main"} and (
                {first.scope, second.scope} & set(WIDGET_SCOPES)
            )
            if not same and not shadow:
                continue
            if not same and first_id not in changed and second_id not in changed:
                continue
            for key in set(first_keys) & set(second_keys):
                triple = (key, first_id, second_id)
                if triple not in seen:
                    seen.add(triple)
                    found.append(triple)
    return found


# --- the help screen -------------------------------------------------------------------------

_SHORT_NAMES = {
    "escape": "Esc",
    "enter": "Enter",
    "tab": "Tab",
    "space": "space",
    "delete": "Del",
    "home": "Home",
    "end": "End",
    "pageup": "PgUp",
    "pagedown": "PgDn",
    "up": "↑",
    "down": "↓",
    "left": "←",
    "right": "→",
    "backspace": "⌫",
}


def key_label(key: str) -> str:
    """How the help shows one key: "slash" -> "/", "escape" -> "Esc", "ctrl+f" -> "ctrl+f"."""
    *modifiers, base = key.split("+") if not key.endswith("++") else [*key[:-2].split("+"), "+"]
    if base in _SHORT_NAMES:
        shown = _SHORT_NAMES[base]
    elif base in PUNCTUATION_KEYS:
        shown = next(chr(c) for c in range(33, 127) if character_key(chr(c)) == base)
    else:
        shown = base
    return "+".join([*modifiers, shown])


def help_sections(
    scopes: tuple[str, ...], keymap: dict[str, str] | None = None
) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(group title, [(keys as shown, description)])] for the help of a screen made of
    `scopes` (e.g. ("main", "table", "buttons") for the dashboard, ("help",) for the help
    itself), with the user's [keys] applied. Keys the same action has in two scopes (j in the
    table and in the buttons) are listed once."""
    keymap = keymap or {}
    sections = []
    for title, group in by_group(scopes):
        rows: list[tuple[str, str]] = []
        for spec in group:
            if spec.id in keymap:
                shown = " ".join(key_label(k) for k in keymap[spec.id].split(","))
            else:
                shown = spec.display or " ".join(key_label(k) for k in spec.keys.split(","))
            row = (shown, spec.description)
            if row not in rows:
                rows.append(row)
        sections.append((title, rows))
    return sections
