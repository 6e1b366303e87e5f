"""Settings: precedence, every error naming file:line:col with a hint, and the key kept out."""

from __future__ import annotations

import dataclasses
import math
import re
import tempfile
import tomllib
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mjdash.model.secret import Secret
from mjdash.store.config import (
    ApiConfig,
    Config,
    ConfigError,
    PollConfig,
    UiConfig,
    WatchlistConfig,
    load_config,
    read_key,
    watchlist_path,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.toml"
KEY = "sk-test-1234567890abcdef"


@pytest.fixture(autouse=True)
def private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the user dirs at empty temp folders: no real ~/.config is read."""
    for name in ("CONFIG", "DATA", "CACHE", "STATE"):
        monkeypatch.setenv(f"XDG_{name}_HOME", str(tmp_path / f"xdg-{name.lower()}"))


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_for(path: Path, **kwargs) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(path, env=kwargs.pop("env", {}), **kwargs)
    return caught.value


# --- where settings come from ----------------------------------------------------------------


def test_no_file_gives_the_defaults() -> None:
    config = load_config(env={})
    assert config == Config()
    assert config.path is None
    assert config.api == ApiConfig("https://api.cometapi.com", "COMETAPI_KEY", "bearer", 15.0)
    assert config.poll == PollConfig(5.0, 200, 8)
    assert config.ui == UiConfig("textual-dark", True, True)
    assert config.watchlist == WatchlistConfig("")


def test_the_user_config_file_is_read(tmp_path: Path) -> None:
    folder = tmp_path / "xdg-config" / "mjdash"
    folder.mkdir(parents=True)
    write(folder, "[poll]\ninterval = 2\n")
    config = load_config(env={})
    assert config.poll.interval == 2.0
    assert config.path == folder / "config.toml"


def test_mjdash_config_names_the_file_and_must_exist(tmp_path: Path) -> None:
    path = write(tmp_path, "[ui]\nbell = false\n", "other.toml")
    assert load_config(env={"MJDASH_CONFIG": str(path)}).ui.bell is False
    with pytest.raises(ConfigError) as caught:
        load_config(env={"MJDASH_CONFIG": str(tmp_path / "missing.toml")})
    assert str(caught.value).startswith("MJDASH_CONFIG: config file ")
    assert "does not exist" in str(caught.value)


def test_an_explicit_path_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.toml", env={})
    with pytest.raises(ConfigError, match="is a folder, not a regular file"):
        load_config(tmp_path, env={})


def test_a_full_file_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[api]
base_url = "http://10.0.0.5:8080/mj/"
key_env = "MJ_PROXY_SECRET"
auth = "mj-api-secret"
timeout = 30
allow_http = true

[poll]
interval = 0.5
batch_size = 1000
concurrency = 1

[ui]
theme = "nord"
bell = false
confirm_actions = false

[watchlist]
path = "lists/mine.toml"
""",
    )
    config = load_config(path, env={})
    assert config.api == ApiConfig(
        "http://10.0.0.5:8080/mj", "MJ_PROXY_SECRET", "mj-api-secret", 30.0, True
    )
    assert config.poll == PollConfig(0.5, 1000, 1)
    assert config.ui == UiConfig("nord", False, False)
    # Relative to the config file, not to wherever mjdash was started.
    assert config.watchlist.path == str(tmp_path / "lists" / "mine.toml")
    assert isinstance(config.api.timeout, float)


def test_example_config_loads_and_documents_every_key() -> None:
    config = load_config(EXAMPLE, env={})
    assert dataclasses.replace(config, path=None) == Config()  # values are the defaults
    doc = tomllib.loads(EXAMPLE.read_text())
    for section in ("api", "poll", "ui", "watchlist"):
        fields = {f.name for f in dataclasses.fields(getattr(Config(), section))}
        assert set(doc[section]) == fields, section
    lines = EXAMPLE.read_text().splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^\w+ = ", line):
            assert lines[number - 1].startswith("#"), f"undocumented: {line}"


def test_environment_overrides_the_file_and_flags_override_both(tmp_path: Path) -> None:
    path = write(tmp_path, '[api]\nbase_url = "https://file.example"\n')
    env = {"MJDASH_BASE_URL": "https://env.example/"}
    assert load_config(path, env=env).api.base_url == "https://env.example"
    flags = {"api.base_url": "https://flag.example", "poll.interval": "2.5", "watchlist.path": None}
    config = load_config(path, env=env, overrides=flags)
    assert config.api.base_url == "https://flag.example"
    assert config.poll.interval == 2.5
    assert config.watchlist.path == ""  # None = flag not given
    assert load_config(env={"MJDASH_BASE_URL": "  "}).api.base_url == "https://api.cometapi.com"


def test_overrides_accept_text_and_are_checked(tmp_path: Path) -> None:
    config = load_config(
        env={}, overrides={"ui.bell": "no", "poll.batch_size": "50", "api.allow_http": True}
    )
    assert (config.ui.bell, config.poll.batch_size, config.api.allow_http) == (False, 50, True)
    with pytest.raises(ConfigError) as caught:
        load_config(env={}, overrides={"poll.interval": "0.1"})
    assert str(caught.value) == "--interval: poll.interval: must be at least 0.5 seconds, got 0.1"
    with pytest.raises(ConfigError) as caught:
        load_config(env={}, overrides={"poll.interval": "soon"})
    assert "expected a number, got a string" in str(caught.value)
    with pytest.raises(ConfigError, match=r"did you mean 'poll\.interval'"):
        load_config(env={}, overrides={"poll.intervall": 3})


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(env={"MJDASH_BASE_URL": "ftp://x"})
    assert str(caught.value).startswith(
        "MJDASH_BASE_URL: api.base_url: only http and https URLs are used"
    )


# --- errors: file:line:col, key, message, hint -----------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[poll]\nintervall = 5\n",
            "2:1: poll.intervall: unknown key 'intervall' (did you mean 'interval'?)",
        ),
        ("[pol]\ninterval = 5\n", "1:1: pol: unknown section 'pol' (did you mean 'poll'?)"),
        ("interval = 5\n", "1:1: interval: unknown key 'interval' (put it under [poll])"),
        (
            "[ui]\nzzz = 1\n",
            "2:1: ui.zzz: unknown key 'zzz' (known keys: theme, bell, confirm_actions, "
            "download_dir, auto_download, preview, stall_minutes, queue_stall_minutes, "
            "export_format, export_dir)",
        ),
        ('[poll]\n  interval = "5"\n', "2:3: poll.interval: expected a number, got a string"),
        ("[api]\ntimeout = true\n", "2:1: api.timeout: expected a number, got a boolean"),
        ("[poll]\nbatch_size = 1.5\n", "2:1: poll.batch_size: expected an integer, got a number"),
        ("[poll]\nbatch_size = 0\n", "2:1: poll.batch_size: must be between 1 and 1000, got 0"),
        ("[poll]\nconcurrency = 65\n", "2:1: poll.concurrency: must be between 1 and 64, got 65"),
        ("[poll]\ninterval = 0\n", "2:1: poll.interval: must be at least 0.5 seconds, got 0"),
        ("[poll]\ninterval = -3\n", "2:1: poll.interval: must be at least 0.5 seconds, got -3"),
        ("[poll]\ninterval = nan\n", "2:1: poll.interval: must be a finite number"),
        ("[api]\ntimeout = 0\n", "2:1: api.timeout: must be more than 0 seconds, got 0"),
        ("[api]\nallow_http = 1\n", "2:1: api.allow_http: expected true or false, got an integer"),
        (
            '[api]\nauth = "Bearer"\n',
            "2:1: api.auth: must be one of 'bearer', 'mj-api-secret' (did you mean 'bearer'?)",
        ),
        (
            '[api]\nauth = "token"\n',
            "2:1: api.auth: must be one of 'bearer', 'mj-api-secret' (bearer for",
        ),
        (
            '[api]\nkey_env = "sk-abc 123"\n',
            "2:1: api.key_env: must be the name of an environment variable",
        ),
        ('[ui]\ntheme = ""\n', "2:1: ui.theme: must be one of 'textual-dark'"),
        ("[watchlist]\npath = 5\n", "2:1: watchlist.path: expected a string, got an integer"),
        ("api = 5\n", "1:1: api: expected a table [api], got an integer"),
        ("[poll]\ninterval = \n", "2:12: invalid TOML: Invalid value"),
        ('[api]\nbase_url = "x\n', "2:14: invalid TOML: Illegal character"),
        ("[poll]\n[poll]\n", "2:6: invalid TOML: Cannot declare"),
    ],
)
def test_errors_name_the_place_and_say_how_to_fix(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    assert str(error_for(path)).startswith(f"{path}:{expected}")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://api.example", "only http and https URLs are used"),
        ("api.example.com", "only http and https URLs are used"),
        ("sk-secret:abc", "only http and https URLs are used"),  # the scheme is not repeated
        ("https://", "URL has no host"),
        ("https://user:sk-secret@api.example", "URL carries a user name or password"),
        ("https://api.example/?key=sk-secret", "URL has a ?query or #fragment"),
        ("https://api.example/#frag", "URL has a ?query or #fragment"),
        ("https://api.example:99999", "URL has an invalid port"),
        ("https://api example", "URL contains spaces"),
        ("", "must not be empty"),
        (
            "http://api.example.com",
            "http:// would send the key unencrypted (use https://, or set allow_http",
        ),
        ("http://192.168.1.10:8080", "http:// would send the key unencrypted"),
    ],
)
def test_bad_urls_are_refused_without_echoing_them(tmp_path: Path, url: str, message: str) -> None:
    path = write(tmp_path, f'[api]\nbase_url = "{url}"\n')
    error = str(error_for(path))
    assert error.startswith(f"{path}:2:1: api.base_url: {message}")
    assert "sk-secret" not in error


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8787", "http://127.9.9.9", "http://[::1]:8080/", "http://localhost:1"],
)
def test_http_is_fine_for_loopback(tmp_path: Path, url: str) -> None:
    path = write(tmp_path, f'[api]\nbase_url = "{url}"\n')
    assert load_config(path, env={}).api.base_url == url.rstrip("/")


def test_http_elsewhere_needs_allow_http(tmp_path: Path) -> None:
    path = write(tmp_path, '[api]\nbase_url = "http://mj.lan"\nallow_http = true\n')
    assert load_config(path, env={}).api.base_url == "http://mj.lan"
    assert load_config(
        env={"MJDASH_BASE_URL": "http://mj.lan"}, overrides={"api.allow_http": "true"}
    )


def test_every_problem_is_listed_in_file_order(tmp_path: Path) -> None:
    path = write(tmp_path, "[poll]\ninterval = 0\nbatch_size = 0\n[ui]\nbel = true\n")
    error = error_for(path)
    lines = str(error).splitlines()
    assert [p.line for p in error.problems] == [2, 3, 5]
    assert lines[2] == f"{path}:5:1: ui.bel: unknown key 'bel' (did you mean 'bell'?)"
    assert (error.line, error.col, error.key) == (2, 1, "poll.interval")


def test_a_key_in_the_file_is_refused_and_not_repeated(tmp_path: Path) -> None:
    path = write(tmp_path, f'[api]\nkey = "{KEY}"\n')
    error = str(error_for(path))
    assert "unknown key 'key' (the key is never read from this file" in error
    assert KEY not in error


def test_bad_utf8_and_dotted_keys_have_positions(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'[ui]\ntheme = "caf\xe9"\n')
    assert str(error_for(path)).startswith(f"{path}:2:13: invalid TOML: not valid UTF-8")
    # A dotted key after [ui] belongs to [ui]: the user meant [api], the error says where.
    path = write(tmp_path, "[ui]\nbell = true\n\napi.timeout = 0\n")
    assert str(error_for(path)).startswith(f"{path}:4:1: ui.api: unknown key 'api'")
    path = write(tmp_path, "api.timeout = -1\n")
    assert str(error_for(path)).startswith(f"{path}:1:1: api.timeout: must be more than 0")


_printable = st.characters(blacklist_categories=("Cs",))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(_printable, max_size=200))
def test_any_text_raises_only_config_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.toml"
        path.write_text(text, encoding="utf-8")
        try:
            load_config(path, env={})
        except ConfigError as error:
            assert str(error).startswith(str(path))


_values = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["https://a.example", "http://127.0.0.1:1", "bearer", "mj-api-secret"]),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
_known = {
    "api": ["base_url", "key_env", "auth", "timeout", "allow_http", "key"],
    "poll": ["interval", "batch_size", "concurrency", "intervall"],
    "ui": ["theme", "bell", "confirm_actions"],
    "watchlist": ["path"],
    "other": ["x"],
}
_documents = st.dictionaries(
    st.sampled_from(list(_known)),
    st.dictionaries(st.sampled_from(sorted({k for ks in _known.values() for k in ks})), _values),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=_documents)
def test_any_document_gives_a_valid_config_or_config_errors(doc) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.toml"
        path.write_text(tomli_w.dumps(doc))
        try:
            config = load_config(path, env={})
        except ConfigError as error:
            for problem in error.problems:
                assert problem.line is not None, str(error)
                assert str(problem).startswith(f"{path}:{problem.line}:")
            return
        assert config.poll.interval >= 0.5 and math.isfinite(config.poll.interval)
        assert 1 <= config.poll.batch_size <= 1000 and 1 <= config.poll.concurrency <= 64
        assert config.api.timeout > 0 and config.api.auth in ("bearer", "mj-api-secret")


# --- the key ---------------------------------------------------------------------------------


def test_key_comes_from_the_named_variable() -> None:
    config = load_config(env={})
    key = read_key(config, {"COMETAPI_KEY": f"  {KEY}\n"})
    assert isinstance(key, Secret) and key.reveal() == KEY
    assert read_key(config, {"COMETAPI_KEY": "   "}) is None
    assert read_key(config, {}) is None
    other = load_config(env={}, overrides={"api.key_env": "MY_KEY"})
    assert read_key(other, {"MY_KEY": KEY, "COMETAPI_KEY": "wrong"}).reveal() == KEY


def test_key_with_inner_spaces_is_refused_without_showing_it() -> None:
    with pytest.raises(ConfigError) as caught:
        read_key(load_config(env={}), {"COMETAPI_KEY": "sk-abc def"})
    assert "sk-abc" not in str(caught.value)
    assert str(caught.value).startswith("COMETAPI_KEY: ")


def test_key_never_lands_in_the_config(tmp_path: Path) -> None:
    env = {"COMETAPI_KEY": KEY}
    config = load_config(env=env)
    assert KEY not in repr(config)
    assert KEY not in repr(read_key(config, env))
    assert all(KEY not in str(v) for v in dataclasses.asdict(config).values())


def test_key_file_must_be_private(tmp_path: Path) -> None:
    config = load_config(env={})
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    key_file.chmod(0o600)
    env = {"MJDASH_KEY_FILE": str(key_file), "COMETAPI_KEY": "from-env"}
    assert read_key(config, env).reveal() == KEY  # the file, when named, wins
    key_file.chmod(0o400)
    assert read_key(config, env).reveal() == KEY
    key_file.chmod(0o644)
    with pytest.raises(ConfigError) as caught:
        read_key(config, env)
    message = str(caught.value)
    assert "can be read by others (mode 0644)" in message
    assert f"chmod 600 {key_file}" in message
    assert KEY not in message


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "is empty"), (b"  \n", "is empty"), (b"\xff\xfe", "not UTF-8"), (b"a b", "spaces")],
)
def test_bad_key_files(tmp_path: Path, content: bytes, message: str) -> None:
    key_file = tmp_path / "key"
    key_file.write_bytes(content)
    key_file.chmod(0o600)
    with pytest.raises(ConfigError, match=message):
        read_key(load_config(env={}), {"MJDASH_KEY_FILE": str(key_file)})
    with pytest.raises(ConfigError, match="cannot open"):
        read_key(load_config(env={}), {"MJDASH_KEY_FILE": str(tmp_path / "missing")})


# --- the watchlist path ----------------------------------------------------------------------


def test_watchlist_path_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    default = load_config(env={})
    assert watchlist_path(default, {}) == tmp_path / "xdg-data" / "mjdash" / "watchlist.toml"
    configured = load_config(env={}, overrides={"watchlist.path": "~/lists/w.toml"})
    assert watchlist_path(configured, {}) == tmp_path / "home" / "lists" / "w.toml"
    env = {"MJDASH_WATCHLIST": "/srv/env.toml"}
    assert watchlist_path(configured, env) == Path("/srv/env.toml")
    assert watchlist_path(configured, env, flag="~/flag.toml") == tmp_path / "home" / "flag.toml"
    assert watchlist_path(default, {"MJDASH_WATCHLIST": ""}) == watchlist_path(default, {})


# --- [notify] and the issue-7 [ui] keys ----------------------------------------------------------


def test_notify_events_per_channel_and_the_new_ui_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[notify]\nbell = ["failed", "failed"]\ndesktop = ["batch_complete"]\n'
        '[ui]\ndownload_dir = "shots"\nstall_minutes = 2.5\nexport_format = "md"\n',
    )
    config = load_config(path, env={})
    assert config.notify.bell == ("failed",)
    assert config.notify.desktop == ("batch_complete",)
    assert config.notify.toast == ("done", "failed", "modal", "stalled", "batch_complete")
    assert config.ui.download_dir == str(tmp_path / "shots")  # relative to the file
    assert config.ui.stall_minutes == 2.5 and config.ui.export_format == "md"
    assert config.ui.preview == "auto" and config.ui.auto_download is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[notify]\nbell = ["faild"]\n', "notify.bell: lists an unknown event (did you mean"),
        ('[notify]\ntoast = "done"\n', "notify.toast: expected a list of event names"),
        ("[ui]\nstall_minutes = 0\n", "ui.stall_minutes: must be more than 0 minutes"),
        ('[ui]\nexport_format = "xlsx"\n', "ui.export_format: must be one of 'csv', 'json', 'md'"),
    ],
)
def test_bad_notify_and_ui_values_are_named(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), env={})
    assert message in str(caught.value)


def test_a_triple_quote_inside_a_one_line_string_hides_no_later_line(tmp_path: Path) -> None:
    # Found by the hypothesis test above: "'''" as a value was read as a multi-line string's
    # start, so every later problem lost its line number.
    path = tmp_path / "c.toml"
    text = "[api]\nallow_http = \"'''\"  # a ''' in a comment\n\n[poll]\nallow_http = \"\"\n"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert [problem.line for problem in caught.value.problems] == [2, 5]
