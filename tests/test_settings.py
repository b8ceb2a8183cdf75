"""Settings: one frozen dataclass; a misspelt name is refused, environment text is typed."""

from __future__ import annotations

import dataclasses

import pytest

from engine.errors import InvalidInput
from engine.settings import Settings


def test_an_unknown_setting_is_refused_by_name() -> None:
    with pytest.raises(InvalidInput) as info:
        Settings.of({"handler_max_atempts": 2})
    assert info.value.details["fields"] == {"handler_max_atempts": "unknown setting"}


def test_environment_text_becomes_the_fields_type() -> None:
    env = {"WEIBAO_SMTP_PORT": "2525", "WEIBAO_SMTP_TLS": "0", "WEIBAO_TIMER_INTERVAL": "0.5",
           "WEIBAO_DELIVER_OUTBOX": "no", "WEIBAO_SMTP_HOST": "", "UNRELATED": "x"}
    settings = Settings.from_env(env)
    assert (settings.smtp_port, settings.smtp_tls, settings.timer_interval) == (2525, False, 0.5)
    assert settings.deliver_outbox is False  # said no: not the worker's default of delivering
    assert settings.smtp_host == "localhost"  # empty keeps the default
    assert Settings.from_env({}).deliver_outbox is None
    with pytest.raises(InvalidInput, match="smtp_port"):
        Settings.from_env({"WEIBAO_SMTP_PORT": "twenty-five"})


def test_settings_are_frozen_and_handlers_see_no_secrets() -> None:
    settings = Settings.of({"smtp_password": "pw", "webhook_secret": "s", "roster_file": "r.json",
                            "handler_settings": {"depot": "沈阳"}})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.handler_max_attempts = 9  # type: ignore[misc]
    assert dict(settings.for_handlers()) == {"roster_file": "r.json", "depot": "沈阳"}
    assert Settings.of(settings) is settings


def test_the_zone_times_are_shown_in_comes_from_weibao_timezone() -> None:
    from datetime import timedelta

    assert Settings().zone().utcoffset(None) == timedelta(hours=8)  # Beijing time unless told
    assert str(Settings.from_env({"WEIBAO_TIMEZONE": "Asia/Shanghai"}).zone()) == "Asia/Shanghai"
    for bad in ("+8", "Mars/Base", "+25:00", "../../etc/passwd"):
        with pytest.raises(InvalidInput) as refused:
            Settings.from_env({"WEIBAO_TIMEZONE": bad})
        assert "timezone" in refused.value.details["fields"]
