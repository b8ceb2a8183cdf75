"""The console's 备件库存 page: staff read the stock, the keeper records movements through the same
path as the API (a stock_adjustment case), bad input at its field, customers kept out."""

from __future__ import annotations

from typing import Any

from .test_console import Console, console_fixtures
from .test_console_work import PEOPLE
from .test_console_work import signed_in as signed

KEEPERS = {**PEOPLE, "keeper": (["spare_parts_keeper"], [])}


service, app = console_fixtures("console_stock", KEEPERS)


def signed_in(app: Any, name: str) -> Console:
    console = signed(app, name)
    console.get("/stock")  # the page that gives the form its CSRF token
    return console


def test_the_keeper_records_movements_and_staff_read_them(app: Any) -> None:
    keeper = signed_in(app, "keeper")
    page = keeper.get("/stock").get_data(as_text=True)
    assert "备件库存" in page and 'id="stock-move"' in page
    answer = keeper.post("/stock", {"part_type": "FAN-9", "location": "沈阳备件库", "kind": "receive",
                                    "quantity": "4", "reason": "到货"})
    assert answer.status_code == 302
    keeper.post("/stock", {"part_type": "FAN-9", "location": "沈阳备件库", "kind": "issue", "quantity": "1"})
    engineer = signed_in(app, "duty_engineer")
    shown = engineer.get("/stock?type=FAN-9").get_data(as_text=True)
    assert '<td class="qty">3</td>' in shown and "出库" in shown and "入库" in shown
    assert 'id="stock-move"' not in shown  # reading only


def test_bad_input_and_negative_stock_are_shown_at_the_field(app: Any) -> None:
    keeper = signed_in(app, "keeper")
    bad = keeper.post("/stock", {"part_type": "FAN-10", "location": "沈阳备件库", "kind": "receive",
                                 "quantity": "zero"})
    assert bad.status_code == 422 and 'id="error-quantity"' in bad.get_data(as_text=True)
    short = keeper.post("/stock", {"part_type": "FAN-10", "location": "沈阳备件库", "kind": "issue",
                                   "quantity": "1"})
    assert short.status_code == 409 and "negative" in short.get_data(as_text=True)


def test_customers_and_engineers_may_not_move_stock(app: Any) -> None:
    assert signed_in(app, "customer").get("/stock").status_code == 403
    engineer = signed_in(app, "duty_engineer")
    answer = engineer.post("/stock", {"part_type": "FAN-9", "location": "沈阳备件库", "kind": "receive",
                                      "quantity": "1"})
    assert answer.status_code == 403
    assert Console(app).get("/stock").status_code == 302
