"""Bindings built from the key registry (mjdash.model.keys): one source for keys and ids.

The registry holds each binding's id, default keys, how the help shows them and its purpose;
the UI adds only what Textual needs besides (the action, the footer's word, show or not).
"""

from __future__ import annotations

from textual.binding import Binding

from mjdash.model.keys import BY_ID


def bind(
    binding_id: str,
    action: str | None = None,
    footer: str = "",
    *,
    show: bool = False,
    key_display: str | None = None,
    priority: bool = False,
) -> Binding:
    """The Binding of registry id `binding_id`: its keys and id from the registry, the action
    `action` (default: the id), `footer` as the footer's word (default: the description)."""
    spec = BY_ID[binding_id]
    return Binding(
        spec.keys,
        action or binding_id,
        footer or spec.description[:1].upper() + spec.description[1:],
        show=show,
        key_display=key_display if key_display is not None else (spec.display or None),
        priority=priority,
        id=binding_id,
    )


# Every dialog (a ModalScreen: the app's own bindings are not active under it) quits on
# ctrl+c with the save of q, as the dashboard does; no id: they follow the app's quit key.
DIALOG_QUIT = Binding("ctrl+c", "app.quit", "Quit", show=False)
# A dialog without a text field also opens the help (its own keys, see HELP_SCOPES).
DIALOG_HELP = Binding("question_mark", "app.help", "Help", key_display="?", show=False)
