"""The request shapes more than one layer needs: how the key travels, and the button-press route.

The client sends them, the config checks the auth style, the dashboard's copy formats (a JSON
body, a `curl` line with `$COMETAPI_KEY`) print them: one definition, so what is copied is what
is sent (docs/api.md, "Servers and auth" and "Endpoints mjdash uses").
"""

from __future__ import annotations

import re
from typing import Any

BEARER = "bearer"
MJ_API_SECRET = "mj-api-secret"
AUTH_STYLES = (BEARER, MJ_API_SECRET)  # CometAPI and new-api; midjourney-proxy

ACTION_PATH = "/mj/submit/action"

# Ids per list-by-condition. Neither new-api nor trueai caps the list (docs/api.md); 200 tasks
# answer in 120-600 KB, under the client's 1 MiB cap, and every request saved is ~1.5 ms of
# httpx CPU a poll. An answer over the cap halves it for the session (net/client.py).
BATCH_SIZE = 200

_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def auth_header(style: str, key: str) -> tuple[str, str]:
    """(name, value) of the header that carries `key` (the key itself, or `$VAR` in a curl line)."""
    if style == MJ_API_SECRET:
        return "mj-api-secret", key
    return "Authorization", f"Bearer {key}"


def is_env_name(text: object) -> bool:
    """True for the name of an environment variable (`key_env`), not for a key pasted there."""
    return isinstance(text, str) and _ENV_NAME_RE.fullmatch(text) is not None


def action_payload(task_id: str, custom_id: str, *, state: str | None = None) -> dict[str, Any]:
    """The body of POST /mj/submit/action: press the button `custom_id` of task `task_id`."""
    payload: dict[str, Any] = {"taskId": task_id, "customId": custom_id}
    if state is not None:
        payload["state"] = state
    return payload
