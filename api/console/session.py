"""Who is signed in: a session cookie naming the user, a CSRF token for every form, the error pages.

The cookie is Flask's signed session (HttpOnly, SameSite=Lax). It holds the user's name only; the
user is read again on every request, so a disabled user or changed groups take effect at once.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from engine import EngineError, Forbidden, passwords, policy
from engine.actor import Actor

from ..context import weibao
from ..errors import status_of
from .i18n import LANGUAGES, locale

OPEN_ENDPOINTS = frozenset({"console.sign_in", "console.static", "console.language"})
CSRF_FIELD = "csrf_token"


def actor() -> Actor:
    return g.console_actor  # type: ignore[no-any-return]


def csrf_token() -> str:
    if CSRF_FIELD not in session:
        session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return str(session[CSRF_FIELD])


def load_user() -> Response | None:
    name = session.get("user")
    found = passwords.active_actor(weibao().service.store, name) if name else None
    g.console_actor = found
    if found is None and request.endpoint not in OPEN_ENDPOINTS:
        session.pop("user", None)
        return redirect(url_for("console.sign_in", next=request.full_path.rstrip("?")))
    return None


def check_csrf() -> None:
    """Every state change is a POST form carrying the session's token; anything else is refused
    before the view runs, whoever is signed in."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.form.get(CSRF_FIELD, "")
    expected = session.get(CSRF_FIELD)
    if not expected or not hmac.compare_digest(str(expected), sent):
        abort(400, description=_("The form has expired or did not come from this console. "
                                 "Reload the page and try again."))


def template_globals() -> dict[str, Any]:
    who = g.get("console_actor")
    return {"csrf_token": csrf_token, "me": who, "may_audit": who is not None and _may_audit(who),
            "may_report": who is not None and policy.customer_scope(who) is None,
            "may_own": who is not None and _may_own(who),
            "languages": LANGUAGES, "lang": locale()}


def _may_audit(who: Actor) -> bool:
    try:
        policy.require_role(who, "auditor", "admin")
    except Forbidden:
        return False
    return True


def _may_own(who: Actor) -> bool:
    try:
        policy.require_process_owner(who)
    except Forbidden:
        return False
    return True


def _safe_next(target: str | None) -> str:
    # Only a path on this site: a sign-in must not send the user on to another one.
    parts = urlsplit(target or "")
    if not target or parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("console.home")
    return target


def sign_in() -> Any:
    error = None
    if request.method == "POST":
        name = request.form.get("name", "").strip()
        found = passwords.sign_in(weibao().service.store, name, request.form.get("password", ""))
        if found is not None:
            lang = session.get("lang")
            session.clear()  # a new session id's worth: nothing from before the sign-in survives
            session.update(user=found.name, lang=lang)
            csrf_token()
            return redirect(_safe_next(request.args.get("next")))
        error = _("Unknown user name or wrong password.")
    status = 401 if error else 200
    return render_template("signin.html", error=error, next=request.args.get("next", "")), status


def sign_out() -> Response:
    lang = session.get("lang")
    session.clear()
    session["lang"] = lang
    return redirect(url_for("console.sign_in"))


def language() -> Response:
    chosen = request.form.get("lang", "")
    if chosen in LANGUAGES:
        session["lang"] = chosen
    return redirect(_safe_next(request.form.get("back")))


def home() -> Response:
    return redirect(url_for("console.tasklist"))


def add_routes(blp: Blueprint) -> None:
    blp.add_url_rule("/", "home", home)
    blp.add_url_rule("/signin", "sign_in", sign_in, methods=["GET", "POST"])
    blp.add_url_rule("/signout", "sign_out", sign_out, methods=["POST"])
    blp.add_url_rule("/language", "language", language, methods=["POST"])


def _page(status: int, message: str) -> tuple[str, int]:
    return render_template("error.html", status=status, message=message), status


def _engine_error(exc: EngineError) -> tuple[str, int]:
    status = status_of(exc)
    lead = {403: _("You may not do this."), 404: _("Not found.")}.get(status, "")
    return _page(status, f"{lead} {exc.message}".strip())


def add_error_pages(blp: Blueprint) -> None:
    """The API's statuses for the engine's errors, as pages rather than JSON."""
    blp.register_error_handler(EngineError, _engine_error)
    blp.register_error_handler(400, lambda exc: _page(400, exc.description))
