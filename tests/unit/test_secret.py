"""The API key wrapper: it never shows its value by accident (docs/reliability.md, rule 6, K1)."""

# Old-style formatting is what this file tests, on purpose.
# ruff: noqa: UP030, UP031, UP032

from __future__ import annotations

import copy
import logging
import pickle
import traceback
from dataclasses import dataclass

import pytest

from mjdash.model.secret import Secret

# Built at run time so the value never appears in this file's source lines (tracebacks
# print source lines, and a test that finds the key there would prove nothing).
KEY = "-".join(["sk", "live", "9f8e7d6c5b4a"])


@pytest.fixture
def secret() -> Secret:
    return Secret(KEY)


def test_repr_and_str_hide_the_value(secret: Secret) -> None:
    assert str(secret) == "***"
    assert "***" in repr(secret)
    assert KEY not in repr(secret)


def test_formatting_hides_the_value(secret: Secret) -> None:
    shown = [
        f"{secret}",
        f"{secret!s}",
        f"{secret!r}",
        f"{secret:>40}",
        f"{secret=}",
        format(secret, ""),
        format(secret, "s"),
        "{}".format(secret),
        "{0!r}".format(secret),
        "%s" % secret,
        "%r" % (secret,),
        "%-30s" % secret,
    ]
    for text in shown:
        assert KEY not in text
        assert "***" in text
    assert f"{secret}" == "%s" % secret == format(secret, ">40") == "***"


def test_containers_hide_the_value(secret: Secret) -> None:
    @dataclass
    class Settings:
        base_url: str
        key: Secret

    for holder in ([secret], {"key": secret}, (secret,), Settings("https://x", secret)):
        assert KEY not in repr(holder)
        assert KEY not in str(holder)


def test_reveal(secret: Secret) -> None:
    assert secret.reveal() == KEY
    assert f"Bearer {secret.reveal()}" == "Bearer " + KEY


def test_redact(secret: Secret) -> None:
    text = f"GET /x Authorization: Bearer {KEY} failed; retry with {KEY}!"
    redacted = secret.redact(text)
    assert KEY not in redacted
    assert redacted == "GET /x Authorization: Bearer *** failed; retry with ***!"
    assert secret.redact("nothing to hide") == "nothing to hide"


def test_empty_secret_redacts_nothing() -> None:
    # An empty key must not turn every gap between characters into ***.
    assert Secret("").redact("abc") == "abc"
    assert not Secret("")
    assert Secret("x")


def test_equality_without_leaking(secret: Secret) -> None:
    assert secret == Secret(KEY)
    assert secret != Secret(KEY + "x")
    assert secret != KEY  # never equal to the bare string
    assert hash(secret) == hash(Secret(KEY))


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickling_is_refused(secret: Secret, protocol: int) -> None:
    with pytest.raises(TypeError):
        pickle.dumps(secret, protocol=protocol)
    with pytest.raises(TypeError):
        pickle.dumps({"config": [secret]}, protocol=protocol)


def test_copying_is_refused_too(secret: Secret) -> None:
    # copy goes through __reduce_ex__ as well; refusing is safer than a silent copy.
    with pytest.raises(TypeError):
        copy.deepcopy(secret)


def test_no_instance_dict_to_dump(secret: Secret) -> None:
    with pytest.raises(TypeError):
        vars(secret)


def test_exception_message_built_with_the_secret(secret: Secret) -> None:
    def authenticate(key: Secret) -> None:
        raise PermissionError(f"401 from server for key {key}")

    with pytest.raises(PermissionError) as caught:
        authenticate(secret)
    assert str(caught.value) == "401 from server for key ***"
    assert KEY not in repr(caught.value)
    formatted = "".join(traceback.format_exception(caught.value))
    assert KEY not in formatted


def test_traceback_with_locals_hides_the_value(secret: Secret) -> None:
    # Crash reporters (rich, textual) print frame locals with repr.
    def crash(key: Secret) -> None:
        headers = {"Authorization": key}
        raise RuntimeError(f"boom {len(headers)}")

    try:
        crash(secret)
    except RuntimeError as exc:
        report = "".join(
            traceback.TracebackException.from_exception(exc, capture_locals=True).format()
        )
    assert "headers" in report  # locals really were captured
    assert KEY not in report


def test_logging_hides_the_value(secret: Secret, caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("mjdash.test_secret")
    with caplog.at_level(logging.DEBUG, logger=logger.name):
        logger.debug("using key %s", secret)
        logger.info("config %r", {"key": secret})
    assert "using key ***" in caplog.text
    assert KEY not in caplog.text
