"""Form validation (engine/bpmn/forms.py) on its own: what each field type accepts and refuses."""

from __future__ import annotations

import pytest

from engine.bpmn.forms import FormField, validate
from engine.errors import InvalidInput

NOTE = FormField("note", "备注", "string", required=True)
COUNT = FormField("count", "数量", "long")
OK = FormField("ok", "是否完成", "boolean")
LEVEL = FormField("level", "级别", "enum", enum=["P1", "P2"])
DAY = FormField("day", "日期", "date")
ALL = [NOTE, COUNT, OK, LEVEL, DAY]


def problems(fields, data, **kw) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        validate(fields, data, where="task T", **kw)
    assert caught.value.message == "task T: invalid form data"
    return caught.value.details["fields"]


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_a_required_string_must_not_be_blank(blank):
    assert problems([NOTE], {"note": blank}) == {"note": "is required"}


def test_a_missing_or_null_required_field_is_required():
    assert problems([NOTE], {}) == {"note": "is required"}
    assert problems([NOTE], {"note": None}) == {"note": "is required"}


def test_an_optional_field_may_be_missing_blank_or_null():
    assert validate([FormField("memo", "备注", "string"), COUNT], {"memo": " ", "count": None},
                    where="w") == {"memo": " ", "count": None}


@pytest.mark.parametrize("value", [True, False, "3", [3]])
def test_a_long_refuses_booleans_text_and_lists(value):
    assert problems([COUNT], {"count": value}) == {"count": "数量 must be a number"}


def test_a_whole_float_becomes_an_int_and_a_fraction_stays():
    cleaned = validate([COUNT], {"count": 3.0}, where="w")
    assert cleaned == {"count": 3} and type(cleaned["count"]) is int
    assert validate([COUNT], {"count": 2.5}, where="w") == {"count": 2.5}


@pytest.mark.parametrize(("field", "value", "message"), [
    (NOTE, 5, "备注 must be a string"),
    (OK, "true", "是否完成 must be true or false"),
    (OK, 1, "是否完成 must be true or false"),
    (LEVEL, "P3", "级别 must be one of P1, P2"),
    (DAY, "2026-13-01", "日期 must be an ISO 8601 date"),
    (DAY, "2026-03-02T25:00", "日期 must be an ISO 8601 date"),
    (DAY, 20260302, "日期 must be an ISO 8601 date"),
])
def test_a_wrong_value_names_the_field_by_its_label(field, value, message):
    assert problems([field], {field.id: value}) == {field.id: message}


def test_a_field_without_a_label_is_named_by_its_id():
    assert problems([FormField("n", "", "long")], {"n": "x"}) == {"n": "n must be a number"}


def test_good_values_of_every_type_pass_unchanged():
    data = {"note": " 端口闪断 ", "count": 2, "ok": False, "level": "P2", "day": "2026-03-02"}
    assert validate(ALL, data, where="w") == data
    assert validate([DAY], {"day": "2026-03-02T09:00:00+08:00"}, where="w")["day"].startswith("2026")


def test_unknown_fields_are_refused_unless_allowed():
    assert problems([COUNT], {"count": 1, "extra": 1}) == {"extra": "is not a field of this form"}
    assert validate([COUNT], {"count": 1, "extra": 1}, where="w", allow_unknown=True)["extra"] == 1


def test_every_problem_is_reported_at_once():
    found = problems(ALL, {"note": " ", "count": True, "ok": "no", "level": "P9", "day": "x"})
    assert sorted(found) == ["count", "day", "level", "note", "ok"]


def test_data_must_be_an_object():
    with pytest.raises(InvalidInput, match="task T: data must be an object") as caught:
        validate(ALL, ["note"], where="task T")
    assert caught.value.details == {"fields": {"data": "must be an object"}}


def test_validation_does_not_change_the_input():
    data = {"count": 4.0}
    validate([COUNT], data, where="w")
    assert type(data["count"]) is float


def test_a_field_describes_itself_for_the_task_list():
    assert LEVEL.to_dict() == {"id": "level", "label": "级别", "type": "enum", "required": False,
                               "enum": ["P1", "P2"], "enum_labels": {}, "default": None,
                               "max_length": None, "not_before": None, "not_in_future": False,
                               "with_time": False}
