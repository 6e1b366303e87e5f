"""Settings: defaults < config.toml < environment < command-line flags, checked in one place.

Every complaint names where the bad value came from (`file:line:col`, the environment variable
or the flag), the key, what is wrong and how to fix it. The API key itself never passes through
here except in `read_key`, which hands it over wrapped in a `Secret` (docs/reliability.md, rule 6).
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mjdash.model.api import AUTH_STYLES, BATCH_SIZE, BEARER, is_env_name
from mjdash.model.secret import Secret
from mjdash.model.urls import base_url_refusal
from mjdash.store import atomic, paths
from mjdash.store.tomltext import TomlSyntaxError, locate, parse_toml, type_name
from mjdash.store.watchlist import default_path as default_watchlist_path

DEFAULT_BASE_URL = "https://api.cometapi.com"
CONFIG_FILE_NAME = "config.toml"
KEY_FILE_MAX_BYTES = 64 * 1024
CONFIG_MAX_BYTES = 1024 * 1024

ENV_CONFIG = "MJDASH_CONFIG"
ENV_BASE_URL = "MJDASH_BASE_URL"
ENV_WATCHLIST = "MJDASH_WATCHLIST"
ENV_KEY_FILE = "MJDASH_KEY_FILE"

# How the CLI spells the flags behind `overrides` keys, for error messages.
FLAG_NAMES = {
    "api.base_url": "--base-url",
    "poll.interval": "--interval",
    "watchlist.path": "--watchlist",
}


@dataclass(frozen=True)
class ApiConfig:
    base_url: str = DEFAULT_BASE_URL
    key_env: str = "COMETAPI_KEY"  # the NAME of the variable holding the key, never the key
    auth: str = BEARER
    timeout: float = 15.0
    allow_http: bool = False


@dataclass(frozen=True)
class PollConfig:
    interval: float = 5.0
    batch_size: int = BATCH_SIZE
    concurrency: int = 8


@dataclass(frozen=True)
class UiConfig:
    theme: str = "textual-dark"
    bell: bool = True
    confirm_actions: bool = True
    download_dir: str = ""  # "" = paths.data_dir()/images
    auto_download: bool = False
    preview: str = "auto"  # PREVIEW_MODES; true/false in older files mean "auto"/"off"
    stall_minutes: float = 10.0
    queue_stall_minutes: float = 15.0
    export_format: str = "csv"
    export_dir: str = ""  # "" = paths.data_dir()/exports


# Textual's built-in themes (textual.theme.BUILTIN_THEMES), kept here so reading the config
# never imports Textual; tests/app/test_keymap_registry.py checks it against Textual's list.
THEMES = (
    "textual-dark",
    "textual-light",
    "nord",
    "gruvbox",
    "catppuccin-mocha",
    "dracula",
    "tokyo-night",
    "monokai",
    "flexoki",
    "catppuccin-latte",
    "catppuccin-frappe",
    "catppuccin-macchiato",
    "solarized-light",
    "solarized-dark",
    "rose-pine",
    "rose-pine-moon",
    "rose-pine-dawn",
    "atom-one-dark",
    "atom-one-light",
    "ansi-dark",
    "ansi-light",
)

NOTIFY_EVENTS = ("done", "failed", "modal", "stalled", "batch_complete")


@dataclass(frozen=True)
class NotifyConfig:
    """Which events each channel announces (names from NOTIFY_EVENTS)."""

    bell: tuple[str, ...] = NOTIFY_EVENTS
    toast: tuple[str, ...] = NOTIFY_EVENTS
    desktop: tuple[str, ...] = ()


@dataclass(frozen=True)
class WatchlistConfig:
    path: str = ""  # "" = paths.data_dir()/watchlist.toml


@dataclass(frozen=True)
class ActConfig:
    """Batch moves: more jobs than `confirm_over` in one move must be confirmed by typing the
    number."""

    confirm_over: int = 20


@dataclass(frozen=True)
class Config:
    api: ApiConfig = field(default_factory=ApiConfig)
    poll: PollConfig = field(default_factory=PollConfig)
    ui: UiConfig = field(default_factory=UiConfig)
    watchlist: WatchlistConfig = field(default_factory=WatchlistConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    act: ActConfig = field(default_factory=ActConfig)
    path: Path | None = None  # the file read, None when only defaults
    # [keys]: binding id -> Textual key string ("slash,ctrl+f"), checked against
    # mjdash.model.keys; only the ids the user changed. The UI passes it to App.set_keymap.
    keymap: dict[str, str] = field(default_factory=dict)


_SECTIONS: dict[str, type] = {
    "api": ApiConfig,
    "poll": PollConfig,
    "ui": UiConfig,
    "watchlist": WatchlistConfig,
    "notify": NotifyConfig,
    "act": ActConfig,
}


# --- errors ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the settings, and where it came from."""

    source: str  # a file path, an environment variable or a flag
    key: str  # "section.key", or "" for the file as a whole
    message: str
    hint: str = ""
    line: int | None = None
    col: int | None = None

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}:{self.col or 1}"
        text = f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


class ConfigError(Exception):
    """Bad settings; str is one `path:line:col: section.key: message (hint)` line per problem."""

    def __init__(self, problems: Problem | list[Problem]) -> None:
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
        first = self.problems[0]
        self.source = first.source
        self.key = first.key
        self.message = first.message
        self.hint = first.hint
        self.line = first.line
        self.col = first.col


class _Invalid(ValueError):
    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


# --- value checks ----------------------------------------------------------------------------
# Each takes the raw value and returns the clean one or raises _Invalid. Messages never repeat a
# string value: a key pasted into the wrong place must not end up in an error on screen.


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"expected a string, got {type_name(value)}")
    return value


def _nonempty_string(value: object) -> str:
    if not _string(value).strip():
        raise _Invalid("must not be empty")
    return value.strip()  # type: ignore[union-attr]


def _boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"expected true or false, got {type_name(value)}")
    return value


PREVIEW_MODES = ("auto", "halfblocks", "sixel", "kitty", "off")


def _preview_mode(value: object) -> str:
    """[ui] preview: how images are drawn; true/false (older files) read as "auto"/"off"."""
    if isinstance(value, bool):
        return "auto" if value else "off"
    if not isinstance(value, str) or value.strip().lower() not in PREVIEW_MODES:
        shown = repr(value) if isinstance(value, str) else type_name(value)
        raise _Invalid(f"expected one of {', '.join(PREVIEW_MODES)}, got {shown}")
    return value.strip().lower()


def _number(minimum: float, *, inclusive: bool = True, unit: str = "") -> Callable[[object], float]:
    def check(value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Invalid(f"expected a number, got {type_name(value)}")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise _Invalid("must be a finite number")
        too_small = number < minimum if inclusive else number <= minimum
        if too_small:
            bound = f"at least {minimum:g}" if inclusive else f"more than {minimum:g}"
            raise _Invalid(f"must be {bound}{unit}, got {number:g}")
        return number

    return check


def _integer(low: int, high: int) -> Callable[[object], int]:
    def check(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid(f"expected an integer, got {type_name(value)}")
        if not low <= value <= high:
            raise _Invalid(f"must be between {low} and {high}, got {value}")
        return value

    return check


def _choice(allowed: tuple[str, ...], explain: str) -> Callable[[object], str]:
    def check(value: object) -> str:
        if _string(value) not in allowed:
            close = difflib.get_close_matches(value.lower(), allowed, n=1)  # type: ignore[union-attr]
            listed = ", ".join(repr(a) for a in allowed)
            hint = f"did you mean {close[0]!r}?" if close else explain
            raise _Invalid(f"must be one of {listed}", hint)
        return value  # type: ignore[return-value]

    return check


def _events(value: object) -> tuple[str, ...]:
    """A list of event names from NOTIFY_EVENTS (duplicates dropped, order kept)."""
    if not isinstance(value, list):
        raise _Invalid(f"expected a list of event names, got {type_name(value)}")
    listed = ", ".join(repr(e) for e in NOTIFY_EVENTS)
    for item in value:
        if not isinstance(item, str) or item not in NOTIFY_EVENTS:
            text = item if isinstance(item, str) else ""
            close = difflib.get_close_matches(text, NOTIFY_EVENTS, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"events: {listed}"
            raise _Invalid("lists an unknown event", hint)
    return tuple(dict.fromkeys(value))


def _env_name(value: object) -> str:
    if not is_env_name(_string(value)):
        raise _Invalid(
            "must be the name of an environment variable (letters, digits and _)",
            "the name, like COMETAPI_KEY, not the key itself",
        )
    return value  # type: ignore[return-value]


def _url(value: object) -> str:
    """An http(s) URL with a host, nothing the key could leak through. Never echoes the value."""
    text = _string(value).strip()
    if not text:
        raise _Invalid("must not be empty", f"the default is {DEFAULT_BASE_URL}")
    refusal = base_url_refusal(text)  # the client's own rule; it never repeats the URL
    if refusal:
        raise _Invalid(
            refusal,
            f"like {DEFAULT_BASE_URL} (http:// for a local server); the key goes in the "
            "environment variable named by key_env, never in the URL",
        )
    return text.rstrip("/")


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_CHECKS: dict[str, dict[str, Callable[[object], Any]]] = {
    "api": {
        "base_url": _url,
        "key_env": _env_name,
        "auth": _choice(
            AUTH_STYLES, "bearer for CometAPI and new-api, mj-api-secret for midjourney-proxy"
        ),
        "timeout": _number(0, inclusive=False, unit=" seconds"),
        "allow_http": _boolean,
    },
    "poll": {
        "interval": _number(0.5, unit=" seconds"),
        "batch_size": _integer(1, 1000),
        "concurrency": _integer(1, 64),
    },
    "ui": {
        "theme": _choice(THEMES, "the themes Textual has built in"),
        "bell": _boolean,
        "confirm_actions": _boolean,
        "download_dir": _string,
        "auto_download": _boolean,
        "preview": _preview_mode,
        "stall_minutes": _number(0, inclusive=False, unit=" minutes"),
        "queue_stall_minutes": _number(0, inclusive=False, unit=" minutes"),
        "export_format": _choice(("csv", "json", "md"), "the format E writes"),
        "export_dir": _string,
    },
    "watchlist": {"path": _string},
    "notify": {"bell": _events, "toast": _events, "desktop": _events},
    "act": {"confirm_over": _integer(0, 100_000)},
}

_SECRET_LOOKING_KEYS = {"key", "api_key", "apikey", "token", "secret", "password", "api_secret"}


def _unknown_key_hint(section: str, key: str) -> str:
    if key.lower() in _SECRET_LOOKING_KEYS:
        return "the key is never read from this file: put it in the variable named by key_env"
    known = list(_CHECKS[section]) if section else list(_CHECKS)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    if not section:
        homes = [name for name, keys in _CHECKS.items() if key in keys]
        if homes:
            return f"put it under [{homes[0]}]"
        return "sections: " + ", ".join(f"[{name}]" for name in _CHECKS)
    return "known keys: " + ", ".join(known)


# --- loading ---------------------------------------------------------------------------------


class _Settings:
    """Values being assembled, with the place each came from for later cross-checks."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, Any]] = {
            name: {f: getattr(cls(), f) for f in _CHECKS[name]} for name, cls in _SECTIONS.items()
        }
        self.origins: dict[str, tuple[str, int | None, int | None]] = {}
        self.problems: list[Problem] = []
        self.keymap: dict[str, str] = {}

    def set(self, key: str, raw: object, source: str, line: int | None, col: int | None) -> None:
        section, name = key.split(".", 1)
        try:
            value = _CHECKS[section][name](raw)
        except _Invalid as bad:
            self.problems.append(Problem(source, key, bad.message, bad.hint, line, col))
            return
        self.values[section][name] = value
        self.origins[key] = (source, line, col)

    def problem(self, key: str, message: str, hint: str = "") -> None:
        source, line, col = self.origins.get(key, ("defaults", None, None))
        self.problems.append(Problem(source, key, message, hint, line, col))


# Paths in a config file are relative to that file; ~ is expanded.
_PATH_KEYS = {("watchlist", "path"), ("ui", "download_dir"), ("ui", "export_dir")}


def _read_file(settings: _Settings, path: Path, display: str) -> None:
    try:
        data = atomic.read_capped(path, CONFIG_MAX_BYTES)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            Problem(display, "", f"cannot read the config file {path}: {reason}")
        ) from None
    try:
        doc, text = parse_toml(data)
    except TomlSyntaxError as exc:
        raise ConfigError(
            Problem(display, "", f"invalid TOML: {exc.message}", "", exc.line, exc.col)
        ) from None

    def where(section: str, key: str | None = None) -> tuple[int | None, int | None]:
        found = locate(text, section, key)
        return found if found else (None, None)

    for section, table in doc.items():
        if section == KEYS_SECTION:
            if isinstance(table, dict):
                _read_keys(settings, table, display, where)
            else:
                line, col = where("", section)
                message = f"expected a table [{section}], got {type_name(table)}"
                settings.problems.append(Problem(display, section, message, "", line, col))
            continue
        if section not in _CHECKS:
            hint = _unknown_key_hint("", section)
            kind = "section" if isinstance(table, dict) else "key"
            line, col = where(section) if isinstance(table, dict) else where("", section)
            settings.problems.append(
                Problem(display, section, f"unknown {kind} {section!r}", hint, line, col)
            )
            continue
        if not isinstance(table, dict):
            line, col = where("", section)
            message = f"expected a table [{section}], got {type_name(table)}"
            settings.problems.append(Problem(display, section, message, "", line, col))
            continue
        for key, raw in table.items():
            line, col = where(section, key)
            if key not in _CHECKS[section]:
                hint = _unknown_key_hint(section, key)
                settings.problems.append(
                    Problem(display, f"{section}.{key}", f"unknown key {key!r}", hint, line, col)
                )
                continue
            if (section, key) in _PATH_KEYS and isinstance(raw, str) and raw:
                # A relative path in a config file means relative to that file.
                expanded = Path(raw).expanduser()
                raw = str(expanded if expanded.is_absolute() else path.parent / expanded)
            settings.set(f"{section}.{key}", raw, display, line, col)


KEYS_SECTION = "keys"


def _read_keys(
    settings: _Settings,
    table: dict[str, Any],
    display: str,
    where: Callable[[str, str | None], tuple[int | None, int | None]],
) -> None:
    """[keys]: `binding_id = "key, key"` (or an array of keys), checked against the registry
    in mjdash.model.keys: unknown ids, invalid key names, two ids on one key."""
    from mjdash.model import keys as registry

    chosen: dict[str, list[str]] = {}
    for binding_id, raw in table.items():
        line, col = where(KEYS_SECTION, binding_id)
        name = f"{KEYS_SECTION}.{binding_id}"
        if binding_id not in registry.CONFIGURABLE:
            close = difflib.get_close_matches(binding_id, registry.CONFIGURABLE, n=1)
            hint = (
                f"did you mean {close[0]!r}?"
                if close
                else "the ids are listed in config.example.toml"
            )
            if binding_id in registry.BY_ID:
                hint = "Textual's own key, it cannot be changed"
            settings.problems.append(
                Problem(display, name, f"unknown binding id {binding_id!r}", hint, line, col)
            )
            continue
        if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
            text = ",".join(raw)
        elif isinstance(raw, str):
            text = raw
        else:
            message = f'expected a string like "slash,ctrl+f", got {type_name(raw)}'
            settings.problems.append(Problem(display, name, message, "", line, col))
            continue
        try:
            chosen[binding_id] = registry.parse_key_list(text)
        except registry.KeyNameError as exc:
            settings.problems.append(Problem(display, name, str(exc), "", line, col))
    for key, first, second in registry.clashes(chosen):
        blamed = second if second in chosen else first
        other = first if blamed == second else second
        line, col = where(KEYS_SECTION, blamed)
        settings.problems.append(
            Problem(
                display,
                f"{KEYS_SECTION}.{blamed}",
                f"{key!r} is also the key of {other!r}",
                f"give {blamed!r} or {other!r} another key",
                line,
                col,
            )
        )
    settings.keymap.update({binding_id: ",".join(keys) for binding_id, keys in chosen.items()})


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _from_text(key: str, value: object) -> object:
    """Flags arrive as text: turn "2.5" into 2.5 where the key wants a number."""
    if not isinstance(value, str):
        return value
    section, name = key.split(".", 1)
    default = getattr(_SECTIONS[section](), name)
    text = value.strip()
    if isinstance(default, bool):
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
    elif isinstance(default, int):
        try:
            return int(text)
        except ValueError:
            pass
    elif isinstance(default, float):
        try:
            return float(text)
        except ValueError:
            pass
    return value


def _check_cross(settings: _Settings) -> None:
    api = settings.values["api"]
    parts = urlsplit(api["base_url"])
    insecure = parts.scheme == "http" and not is_loopback_host(parts.hostname or "")
    if insecure and not api["allow_http"]:
        settings.problem(
            "api.base_url",
            "http:// would send the key unencrypted",
            "use https://, or set allow_http = true in [api] for a trusted network",
        )


def _choose_file(path: Path | str | None, env: Mapping[str, str]) -> tuple[Path | None, str]:
    """(file to read or None, how to name it in errors). An explicit file must exist."""
    if path is not None:
        chosen, named_by = Path(path).expanduser(), ""
    elif env.get(ENV_CONFIG, "").strip():
        chosen, named_by = Path(env[ENV_CONFIG].strip()).expanduser(), ENV_CONFIG
    else:
        default = paths.config_dir() / CONFIG_FILE_NAME
        return (default, str(default)) if default.is_file() else (None, "")
    if not chosen.exists():
        source = named_by or str(chosen)
        message = f"config file {chosen} does not exist" if named_by else "no such config file"
        hint = "copy config.example.toml there, or unset it" if named_by else ""
        raise ConfigError(Problem(source, "", message, hint))
    if not chosen.is_file():
        kind = atomic.kind_of(chosen.stat().st_mode)
        raise ConfigError(Problem(str(chosen), "", f"is {kind}, not a regular file"))
    return chosen, str(chosen)


def load_config(
    path: Path | str | None = None,
    *,
    env: Mapping[str, str] = os.environ,
    overrides: Mapping[str, object] | None = None,
) -> Config:
    """Defaults, then the config file, then MJDASH_BASE_URL, then `overrides` (CLI flags).

    path None: $MJDASH_CONFIG, else paths.config_dir()/config.toml if it exists, else defaults.
    `overrides` maps "section.key" to a value (text from a flag is converted); None = not given.
    Raises ConfigError listing every problem found.
    """
    chosen, display = _choose_file(path, env)
    settings = _Settings()
    if chosen is not None:
        _read_file(settings, chosen, display)
    base_url = env.get(ENV_BASE_URL, "")
    if base_url.strip():
        settings.set("api.base_url", base_url, ENV_BASE_URL, None, None)
    for key, value in (overrides or {}).items():
        source = FLAG_NAMES.get(key, "command line")
        section, _, name = key.partition(".")
        if section not in _CHECKS or name not in _CHECKS[section]:
            known = [f"{s}.{k}" for s in _CHECKS for k in _CHECKS[s]]
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else ""
            settings.problems.append(Problem(source, key, "unknown setting", hint))
            continue
        if value is None:
            continue
        settings.set(key, _from_text(key, value), source, None, None)
    if not settings.problems:
        _check_cross(settings)
    if settings.problems:
        ordered = sorted(settings.problems, key=lambda p: (p.line is None, p.line or 0, p.col or 0))
        raise ConfigError(ordered)
    return Config(
        **{name: cls(**settings.values[name]) for name, cls in _SECTIONS.items()},
        path=chosen,
        keymap=settings.keymap,
    )


# --- the key and the watchlist path ----------------------------------------------------------


def _clean_key(text: str, source: str) -> Secret | None:
    key = text.strip()
    if not key:
        return None
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in key):
        raise ConfigError(
            Problem(source, "", "the key contains spaces or control characters", "check the value")
        )
    return Secret(key)


def read_key(config: Config, env: Mapping[str, str] = os.environ) -> Secret | None:
    """The API key from $MJDASH_KEY_FILE (a 0600 file) or else from $<api.key_env>; None if unset.

    Errors never contain the key.
    """
    key_file = env.get(ENV_KEY_FILE, "").strip()
    if key_file:
        return _read_key_file(Path(key_file).expanduser())
    return _clean_key(env.get(config.api.key_env, ""), config.api.key_env)


def _read_key_file(path: Path) -> Secret:
    source = f"{ENV_KEY_FILE} ({path})"
    try:
        # Non-blocking: opening a FIFO for reading would wait for a writer forever.
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as exc:
        raise ConfigError(
            Problem(source, "", f"cannot open the key file: {exc.strerror}")
        ) from None
    try:
        info = os.fstat(fd)  # the file read is the file checked
        if not stat.S_ISREG(info.st_mode):
            kind = atomic.kind_of(info.st_mode)
            raise ConfigError(
                Problem(source, "", f"the key file {path} is {kind}, not a regular file")
            )
        if info.st_mode & 0o077:
            mode = stat.S_IMODE(info.st_mode)
            raise ConfigError(
                Problem(
                    source,
                    "",
                    f"the key file can be read by others (mode {mode:04o})",
                    f"run: chmod 600 {path}",
                )
            )
        data = b""
        while len(data) <= KEY_FILE_MAX_BYTES:
            chunk = os.read(fd, KEY_FILE_MAX_BYTES + 1 - len(data))
            if not chunk:
                break
            data += chunk
    finally:
        os.close(fd)
    if len(data) > KEY_FILE_MAX_BYTES:
        raise ConfigError(Problem(source, "", "the key file is too large to hold a key"))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(Problem(source, "", "the key file is not UTF-8 text")) from None
    key = _clean_key(text, source)
    if key is None:
        raise ConfigError(Problem(source, "", "the key file is empty"))
    return key


def watchlist_path(
    config: Config, env: Mapping[str, str] = os.environ, flag: Path | str | None = None
) -> Path:
    """--watchlist, else $MJDASH_WATCHLIST, else [watchlist] path, else the user data dir."""
    for candidate in (flag, env.get(ENV_WATCHLIST), config.watchlist.path):
        if candidate is not None and str(candidate).strip():
            return Path(str(candidate).strip()).expanduser()
    return default_watchlist_path()
