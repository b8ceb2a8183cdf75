"""The 备件库存 page: stock per part type and location for staff, and the keeper's movement form.

A movement goes the API's way (`api.stock.record_movement`): a `stock_adjustment` case whose chain
records it; bad input is shown at its field, a movement that would go negative as the engine's message.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine import Conflict, InvalidInput, policy, stock

from ..context import weibao
from ..stock import KINDS, record_movement
from .session import actor


def _page(errors: dict[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    who = policy.require_stock_reader(actor())
    part_type, location = request.args.get("type") or None, request.args.get("location") or None
    with weibao().service.store.read() as session:
        levels = stock.levels(session, part_type, location)
        moves = stock.movements(session, part_type, location, limit=20)
    may_move = policy.STOCK_KEEPERS & who.groups or who.is_admin
    return render_template("stock.html", levels=levels, moves=moves, kinds=KINDS, may_move=bool(may_move),
                           part_type=part_type or "", location=location or "", errors=errors or {},
                           posted=request.form if errors else {}), status


def stock_page() -> tuple[str, int]:
    return _page()


def stock_move() -> Response | tuple[str, int]:
    who = policy.require_stock_keeper(actor())
    form = request.form
    quantity = form.get("quantity", "").strip()
    body = {"part_type": form.get("part_type", "").strip(), "location": form.get("location", "").strip(),
            "kind": form.get("kind", ""), "quantity": int(quantity) if quantity.isdigit() else quantity,
            "reason": form.get("reason", "").strip()}
    try:
        stock.check_movement(body["part_type"], body["location"], body["kind"], body["quantity"])
        record_movement(who, body)
    except InvalidInput as exc:
        return _page(dict(exc.details.get("fields", {})), 422)
    except Conflict as exc:
        flash(exc.message, "error")
        return _page({"quantity": exc.message}, 409)
    return redirect(url_for("console.stock_page", type=body["part_type"]))


def add_routes(blp: Blueprint) -> None:
    blp.add_url_rule("/stock", "stock_page", stock_page)
    blp.add_url_rule("/stock", "stock_move", stock_move, methods=["POST"])
