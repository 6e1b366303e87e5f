"""The shared request shapes (mjdash/model/api.py): what the client sends is what the copy formats
print, for both auth styles (docs/api.md, "Servers and auth")."""

from __future__ import annotations

import httpx
import pytest

from mjdash.model.api import ACTION_PATH, AUTH_STYLES, action_payload, auth_header, is_env_name
from mjdash.model.secret import Secret
from mjdash.net.client import MidjourneyClient
from mjdash.store.config import ConfigError, load_config

KEY = "sk-shape-1a2b3c4d"
TASK = "1773314942177684"
U1 = "MJ::JOB::upsample::1::bab70970-d663-464b-bf49-1d0d766064c3"


def test_auth_headers_of_each_style() -> None:
    assert auth_header("bearer", KEY) == ("Authorization", f"Bearer {KEY}")
    assert auth_header("mj-api-secret", KEY) == ("mj-api-secret", KEY)
    assert auth_header("bearer", "$COMETAPI_KEY") == ("Authorization", "Bearer $COMETAPI_KEY")


def test_action_payload() -> None:
    assert action_payload(TASK, U1) == {"taskId": TASK, "customId": U1}
    assert action_payload(TASK, U1, state="s") == {"taskId": TASK, "customId": U1, "state": "s"}


@pytest.mark.parametrize("style", AUTH_STYLES)
async def test_the_client_sends_the_shared_header_and_body(style: str) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"code": 1, "description": "ok", "result": "1" * 16})

    transport = httpx.MockTransport(answer)
    async with MidjourneyClient(
        "https://api.example.test", Secret(KEY), auth=style, transport=transport
    ) as client:
        await client.submit_action(TASK, U1)
    (request,) = seen
    assert request.url.path == ACTION_PATH
    name, value = auth_header(style, KEY)
    assert request.headers[name] == value
    assert httpx.Response(200, content=request.content).json() == action_payload(TASK, U1)


def test_the_config_accepts_exactly_the_shared_styles(tmp_path) -> None:
    for style in AUTH_STYLES:
        path = tmp_path / f"{style}.toml"
        path.write_text(f'[api]\nauth = "{style}"\n')
        assert load_config(path, env={}).api.auth == style
    path = tmp_path / "raw.toml"
    path.write_text('[api]\nauth = "raw"\n')
    with pytest.raises(ConfigError, match="bearer"):
        load_config(path, env={})


def test_env_names() -> None:
    assert is_env_name("COMETAPI_KEY") and is_env_name("_k2")
    for bad in ("", "2KEY", "sk-live-123", "KEY\n", "A" * 129, None, 5):
        assert not is_env_name(bad)
