"""Chinese first, English second: Flask-Babel with the Simplified Chinese catalogue (translations/zh);
times shown in the configured zone (`timezone` in the settings)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path

from flask import Flask, session
from flask_babel import Babel

from ..context import weibao

LANGUAGES = ("zh", "en")
TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def locale() -> str:
    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else LANGUAGES[0]


def zone() -> tzinfo:
    return weibao().zone  # parsed once, when the app was made


def local_time(value: datetime | str | None, seconds: bool = False) -> str:
    """A moment in the configured zone, with its offset, e.g. `2026-03-02 09:10 +08:00`."""
    if value is None or value == "":
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    shown = moment.astimezone(zone())
    return shown.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + " " + \
        shown.strftime("%z")[:3] + ":" + shown.strftime("%z")[3:]


def install(app: Flask) -> None:
    Babel(app, locale_selector=locale, default_translation_directories=str(TRANSLATIONS))
    app.jinja_env.filters["local_time"] = local_time
