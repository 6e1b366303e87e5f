"""What batch moves add to the stored files: [act] confirm_over in the config, `retry_of` in
the watchlist (written, read back, validated like the other keys)."""

from __future__ import annotations

import pytest

from mjdash.store.config import ConfigError, load_config
from mjdash.store.watchlist import Watchlist

OLD, NEW = "1712345678901234", "1712345678909999"


def test_confirm_over_defaults_to_20_and_is_read_and_checked(tmp_path):
    assert load_config(None, env={}).act.confirm_over == 20
    path = tmp_path / "config.toml"
    path.write_text("[act]\nconfirm_over = 5\n")
    assert load_config(path, env={}).act.confirm_over == 5
    for bad in ("-1", '"many"', "2.5"):
        path.write_text(f"[act]\nconfirm_over = {bad}\n")
        with pytest.raises(ConfigError) as caught:
            load_config(path, env={})
        assert "act.confirm_over" in str(caught.value)
    path.write_text("[act]\nconfirm_ovr = 5\n")
    with pytest.raises(ConfigError, match="confirm_over"):
        load_config(path, env={})


def test_retry_of_is_saved_and_read_back(tmp_path):
    path = tmp_path / "w.toml"
    watchlist = Watchlist(path)
    watchlist.add([OLD])
    watchlist.add([NEW], parent=OLD, retry_of=OLD)
    watchlist.save()
    assert f'retry_of = "{OLD}"' in path.read_text()
    again = Watchlist.load(path)
    assert (again.get(NEW).parent, again.get(NEW).retry_of) == (OLD, OLD)
    assert again.get(OLD).retry_of == ""
    assert again.children(OLD) == (NEW,)
    with pytest.raises(ValueError, match="retry_of"):
        watchlist.add(["1712345678900001"], retry_of="not-an-id")


def test_a_hand_written_retry_of_of_the_wrong_type_is_reported(tmp_path):
    path = tmp_path / "w.toml"
    path.write_text(f'version = 1\n\n[[tasks]]\nid = "{NEW}"\nretry_of = 17\n')
    watchlist = Watchlist.load(path)
    assert NEW not in watchlist
    assert any("retry_of must be a string" in w for w in watchlist.warnings)
