"""[keys] and [ui] theme in the config: checked at start, each problem at file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest

from mjdash.model import keys
from mjdash.store.config import THEMES, ConfigError, load_config


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def load(path: Path):
    return load_config(path, env={})


def test_keys_table_becomes_a_textual_keymap(tmp_path: Path) -> None:
    path = config_file(
        tmp_path,
        '[keys]\nfilter = "slash, ctrl+f"\nquit = ["q", "ctrl+c"]\nhelp = "?"\nfaster = "F"\n',
    )
    config = load(path)
    assert config.keymap == {
        "filter": "slash,ctrl+f",
        "quit": "q,ctrl+c",
        "help": "question_mark",  # Textual's name for the character
        "faster": "F",
    }
    assert load_config(None, env={}).keymap == {}


def test_unknown_id_bad_key_and_clash_each_name_their_line(tmp_path: Path) -> None:
    path = config_file(
        tmp_path,
        "[ui]\nbell = true\n\n[keys]\n"
        'fliter = "x"\n'  # line 5: misspelt id
        'export = "ctrl+bogus"\n'  # line 6: bad key name
        'cycle_sort = "ctrl+f"\n'  # line 7
        'filter = "slash,ctrl+f"\n'  # line 8: clashes with cycle_sort
        'add = "j"\n'  # line 9: the table's j would shadow it
        "poll_now = 5\n"  # line 10: not a string
        'table_arrows = "x"\n',  # line 11: Textual's own keys are fixed
    )
    with pytest.raises(ConfigError) as caught:
        load(path)
    lines = str(caught.value).splitlines()
    where = {line.split(": ")[1]: line for line in lines}
    assert where["keys.fliter"].startswith(f"{path}:5:1: ")
    assert "unknown binding id 'fliter'" in where["keys.fliter"]
    assert "did you mean 'filter'?" in where["keys.fliter"]
    assert where["keys.export"].startswith(f"{path}:6:1: ")
    assert "unknown key name 'bogus'" in where["keys.export"]
    clash = [line for line in lines if "'ctrl+f' is also the key of" in line]
    assert len(clash) == 1 and {"cycle_sort", "filter"} <= set(clash[0].replace("'", " ").split())
    assert any(f"{path}:9:1: keys.add: 'j' is also the key of 'cursor_down'" in x for x in lines)
    assert any(f"{path}:10:1: keys.poll_now: expected a string" in x for x in lines)
    assert any("keys.table_arrows" in x and "cannot be changed" in x for x in lines)


def test_swapping_two_keys_is_not_a_clash(tmp_path: Path) -> None:
    path = config_file(tmp_path, '[keys]\ncycle_sort = "f"\ncycle_show = "s"\n')
    assert load(path).keymap == {"cycle_sort": "f", "cycle_show": "s"}


def test_keys_must_be_a_table(tmp_path: Path) -> None:
    path = config_file(tmp_path, 'keys = "q"\n')
    with pytest.raises(ConfigError, match=r":1:1: keys: expected a table \[keys\]"):
        load(path)


def test_unknown_theme_lists_the_valid_names(tmp_path: Path) -> None:
    path = config_file(tmp_path, '[ui]\ntheme = "dracla"\n')
    with pytest.raises(ConfigError) as caught:
        load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:2:1: ui.theme: must be one of ")
    assert all(repr(name) in message for name in THEMES)
    assert "did you mean 'dracula'?" in message
    assert load(config_file(tmp_path, '[ui]\ntheme = "nord"\n')).ui.theme == "nord"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/", "slash"),
        ("?", "question_mark"),
        ("+", "plus"),
        ("G", "G"),
        ("ctrl+F", "ctrl+f"),
        ("Escape", "escape"),
        ("shift+tab", "shift+tab"),
        ("f12", "f12"),
        ("ctrl+slash", "ctrl+slash"),
    ],
)
def test_key_names_are_normalised_like_textual(text: str, expected: str) -> None:
    assert keys.normalise_key(text) == expected


@pytest.mark.parametrize("text", ["", " ", "hyper+", "ctrl+bogus", "cmd+x", "f25", "\t"])
def test_bad_key_names_are_refused(text: str) -> None:
    with pytest.raises(keys.KeyNameError):
        keys.normalise_key(text)


def test_the_registry_defaults_have_no_clash_and_every_group_is_known() -> None:
    assert keys.clashes({}) == []
    assert len(keys.BY_ID) == len(keys.REGISTRY)  # ids are unique
    for spec in keys.REGISTRY:
        assert spec.group in keys.GROUPS and spec.scope in keys.SCOPES
        for key in spec.keys.split(","):
            assert keys.normalise_key(key) == key, spec.id
    titles = [title for title, _ in keys.by_group(("main", "table", "buttons"))]
    assert titles == ["Move", "Act on the task", "Copy", "View", "Polling", "General"]
    help_keys = [s.id for _, group in keys.by_group(("help",)) for s in group]
    assert set(help_keys) == {"help_close", "help_down", "help_up"}


def test_config_example_documents_every_binding_id_and_each_one_loads(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    text = example.read_text()
    assert load(example).keymap == {}  # everything under [keys] is commented out
    for binding_id in keys.CONFIGURABLE:
        line = next(x for x in text.splitlines() if x.startswith(f"#   {binding_id} = "))
        default = line.split('"')[1]
        assert default == keys.BY_ID[binding_id].keys
        # Uncommenting a documented line as it stands is valid.
        path = config_file(tmp_path, f'[keys]\n{binding_id} = "{default}"\n')
        assert load(path).keymap == {binding_id: default}
