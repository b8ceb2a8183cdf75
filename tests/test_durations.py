"""The one ISO 8601 duration parser: SLA targets, start cycles and the simulation clock share it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.durations import Duration, add_duration, parse_duration, shift_months
from engine.errors import InvalidInput


def test_parts_are_read_with_fractions_in_the_time_part() -> None:
    assert parse_duration("P1Y2M3W4DT1.5H30M15S") == Duration(1, 2, 3, 4, 1.5, 30.0, 15.0)
    assert parse_duration(" pt4h ") == Duration(hours=4.0)


@pytest.mark.parametrize("text", ["P", "PT", "4H", "P1.5D", "PT-1H", "", "P1H"])
def test_what_is_not_a_duration_is_refused_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_duration(text, field="advance")
    assert caught.value.details["fields"] == {"advance": "not an ISO 8601 duration"}


def test_a_month_target_started_in_the_fourth_quarter_rolls_the_year() -> None:
    assert shift_months(datetime(2026, 11, 2, 9, tzinfo=UTC), 3) == datetime(2027, 2, 2, 9, tzinfo=UTC)
    assert add_duration(datetime(2026, 10, 15, tzinfo=UTC), "P6M") == datetime(2027, 4, 15, tzinfo=UTC)


def test_a_month_from_the_31st_ends_on_the_last_day_of_a_shorter_month() -> None:
    assert shift_months(datetime(2027, 1, 31, tzinfo=UTC), 1) == datetime(2027, 2, 28, tzinfo=UTC)
    assert shift_months(datetime(2028, 1, 31, tzinfo=UTC), 1) == datetime(2028, 2, 29, tzinfo=UTC)


def test_repeated_durations_scale_every_part() -> None:
    start = datetime(2026, 3, 2, 1, tzinfo=UTC)
    assert add_duration(start, "P1DT2H", times=3) == start + timedelta(days=3, hours=6)
    assert add_duration(start, "P1M", times=12) == datetime(2027, 3, 2, 1, tzinfo=UTC)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)), st.integers(0, 240))
def test_shifting_months_lands_in_the_month_it_names(moment: datetime, months: int) -> None:
    shifted = shift_months(moment, months)
    assert (shifted.year * 12 + shifted.month) - (moment.year * 12 + moment.month) == months
    assert shifted.day <= moment.day and shifted.time() == moment.time()
