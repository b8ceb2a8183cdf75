"""The web console at `/`: sign-in, tasklist, the case on its diagram, audit replay.

Server-rendered pages (Jinja) on the same engine surface as the API, signed in with a session cookie
instead of a bearer token. Every rule about who may see or do what is asked of `engine.policy`, as the
API does; the console decides only what to show.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, Flask, request
from flask.sessions import SecureCookieSessionInterface

from . import audit as audit_pages
from . import cases, i18n, labels, processes, reports, session, stock, tasks

blp = Blueprint("console", __name__, template_folder="templates", static_folder="static",
                static_url_path="/static/console")
blp.before_request(session.load_user)
blp.before_request(session.check_csrf)
blp.context_processor(session.template_globals)
for module in (session, tasks, cases, audit_pages, reports, processes, stock):
    module.add_routes(blp)
session.add_error_pages(blp)


class ConsoleSessions(SecureCookieSessionInterface):
    """Flask's signed cookie, marked Secure by the setting, or else by the scheme of the request that
    sets it: a console served over https never sends its session over plain http."""

    def __init__(self, secure: bool | None) -> None:
        self.secure = secure

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure if self.secure is None else self.secure


def install(app: Flask, secret_key: str, cookie_secure: bool | None = None) -> None:
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key or secrets.token_urlsafe(32)
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_NAME="weibao_session")
    app.session_interface = ConsoleSessions(cookie_secure)
    i18n.install(app)
    app.jinja_env.filters["clock_label"] = labels.clock_label
    app.jinja_env.filters["event_label"] = labels.event_label
    app.jinja_env.filters["document_label"] = labels.document_label
    app.register_blueprint(blp)
