"""Property tests of the limit rules and of the services' all-or-nothing writes."""

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core.errors import ServiceError
from smtpusers import services
from smtpusers.models import SmtpUser
from smtpusers.validators import MAX_LIMIT, parse_limit

valid_limits = st.integers(min_value=1, max_value=MAX_LIMIT)
invalid_limits = st.one_of(
    st.integers(max_value=0),
    st.integers(min_value=MAX_LIMIT + 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.lists(st.integers(min_value=1, max_value=10), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.text().filter(lambda text: not text.strip().isascii() or not text.strip().isdigit()),
    st.integers(max_value=0).map(str),
    st.integers(min_value=MAX_LIMIT + 1).map(str),
)
db_settings = hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@given(valid_limits)
def test_it_accepts_every_positive_int_and_its_digits_and_round_trips(limit):
    assert parse_limit(limit, field="total_limit") == limit
    assert parse_limit(str(limit), field="total_limit") == limit
    assert parse_limit(f" {limit} ", field="total_limit") == limit


@given(invalid_limits)
def test_it_refuses_everything_else_naming_the_field(value):
    with pytest.raises(ServiceError) as error:
        parse_limit(value, field="hourly_limit")
    assert error.value.field == "hourly_limit"
    assert error.value.message.startswith("hourly_limit ")


@db_settings
@given(total_limit=valid_limits, hourly_limit=valid_limits)
def test_it_stores_exactly_the_accepted_limits(alice, total_limit, hourly_limit):
    smtp_user, _ = services.create_smtp_user(
        alice.owner, total_limit=str(total_limit), hourly_limit=hourly_limit
    )
    smtp_user.refresh_from_db()
    assert (smtp_user.total_limit, smtp_user.hourly_limit) == (total_limit, hourly_limit)


@db_settings
@given(
    total_limit=st.one_of(valid_limits, invalid_limits),
    hourly_limit=invalid_limits,
    status=st.one_of(st.none(), st.sampled_from(["Enable", "Disable"]), st.text(max_size=8)),
)
def test_it_changes_nothing_when_any_input_is_refused(alice, total_limit, hourly_limit, status):
    smtp_user, _ = services.create_smtp_user(alice.owner, total_limit=10, hourly_limit=5)
    before = list(SmtpUser.objects.values_list("id", "total_limit", "hourly_limit", "is_enabled"))
    if hourly_limit is None:
        hourly_limit = "not a number"  # None means "unchanged"; keep this input invalid
    with pytest.raises(ServiceError):
        services.update_smtp_user(
            alice.owner,
            smtp_user_name=smtp_user.smtp_user_name,
            total_limit=total_limit,
            hourly_limit=hourly_limit,
            status=status,
        )
    with pytest.raises(ServiceError):
        services.create_smtp_user(alice.owner, total_limit=total_limit, hourly_limit=hourly_limit)
    after = list(SmtpUser.objects.values_list("id", "total_limit", "hourly_limit", "is_enabled"))
    assert after == before
    smtp_user.delete()
