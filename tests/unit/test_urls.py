"""One URL rule (mjdash/model/urls.py) for the base URL and for server links (docs/reliability.md,
rule 8): the config, the client and the dashboard's "open" refuse the same URLs."""

from __future__ import annotations

import re

import pytest

from mjdash.model.secret import Secret
from mjdash.model.urls import base_url_refusal, url_refusal
from mjdash.net.client import MidjourneyClient
from mjdash.store.config import ConfigError, load_config

BAD = [
    "javascript:alert(1)",
    "-x",
    "http://user:pw@host/",
    "http:///nohost",
    "https://host:99999/",
    "https://host/a b",
]


@pytest.mark.parametrize("url", BAD)
def test_a_link_refused_is_a_base_url_refused_for_the_same_reason(url: str) -> None:
    link = url_refusal(url)
    assert link is not None
    assert base_url_refusal(url) == link.partition(" (scheme:")[0]


def test_a_base_url_also_needs_no_query_or_fragment_and_never_shows_its_scheme() -> None:
    assert url_refusal("https://api.example/?key=x") is None  # fine for an image link
    assert base_url_refusal("https://api.example/?key=x") == "URL has a ?query or #fragment"
    assert base_url_refusal("https://api.example/#f") == "URL has a ?query or #fragment"
    assert base_url_refusal("https://api.example/?") == "URL has a ?query or #fragment"
    assert "sk-live" not in (base_url_refusal("sk-live-123:x") or "")
    assert "javascript" in (url_refusal("javascript:alert(1)") or "")
    assert base_url_refusal("https://api.cometapi.com/mj-fast") is None


@pytest.mark.parametrize("url", [*BAD, "https://api.example/?key=x"])
def test_the_config_and_the_client_refuse_the_same_base_urls(url: str, tmp_path) -> None:
    reason = base_url_refusal(url)
    assert reason
    path = tmp_path / "config.toml"
    path.write_text(f'[api]\nbase_url = "{url}"\n')
    with pytest.raises(ConfigError, match=f"api.base_url: {re.escape(reason)}"):
        load_config(path, env={})
    with pytest.raises(ValueError, match="unusable base URL"):
        MidjourneyClient(url, Secret("sk-x"))
