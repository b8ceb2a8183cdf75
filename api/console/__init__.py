"""The web console at `/`: sign-in, tasklist, the case on its diagram, audit replay.

Server-rendered pages (Jinja) on the same engine surface as the API, signed in with a session cookie
instead of a bearer token. Every rule about who may see or do what is asked of `engine.policy`, as the
API does; the console decides only what to show.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, Flask

from . import audit as audit_pages
from . import cases, i18n, labels, processes, reports, session, tasks

blp = Blueprint("console", __name__, template_folder="templates", static_folder="static",
                static_url_path="/static/console")
blp.before_request(session.load_user)
blp.before_request(session.check_csrf)
blp.context_processor(session.template_globals)
for module in (session, tasks, cases, audit_pages, reports, processes):
    module.add_routes(blp)
session.add_error_pages(blp)


def install(app: Flask, secret_key: str) -> None:
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key or secrets.token_urlsafe(32)
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_NAME="weibao_session")
    i18n.install(app)
    app.jinja_env.filters["clock_label"] = labels.clock_label
    app.register_blueprint(blp)
