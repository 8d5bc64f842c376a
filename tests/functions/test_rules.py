"""The pure rules: Luhn, currency, expiry, amount bounds, the decision. No AWS."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from payment_validator.rules import (
    APPROVED,
    DECLINED,
    RequestError,
    admit_payment,
    decide,
    expiry_is_current,
    luhn_valid,
    parse_payment,
    validate_idempotency_key,
    validate_payment,
)
from payment_validator.schema import AMOUNT_CEILING_MINOR
from payment_validator.settings import Settings

from tests.functions.conftest import DECLINE_CARD, VALID_CARD, payment_body

TODAY = datetime.date(2026, 11, 25)


def validate(body: Any, max_amount: int = 1_000_000) -> Any:
    """Validate with a fixed date and maximum."""
    return validate_payment(body, today=TODAY, max_amount_minor=max_amount)


def error_of(body: Any) -> RequestError:
    """The error a body is rejected with."""
    with pytest.raises(RequestError) as caught:
        validate(body)
    return caught.value


@pytest.mark.parametrize(
    "number", [VALID_CARD, DECLINE_CARD, "5555555555554444", "378282246310005", "6011111111111117"]
)
def test_luhn_accepts_known_good_numbers(number: str) -> None:
    assert luhn_valid(number)


@pytest.mark.parametrize("number", ["4111111111111112", "1234567812345678", "", "41111111111a1111"])
def test_luhn_rejects_bad_numbers(number: str) -> None:
    assert not luhn_valid(number)


def test_expiry_is_valid_through_its_month() -> None:
    assert expiry_is_current("11/26", TODAY)
    assert expiry_is_current("01/27", TODAY)
    assert not expiry_is_current("10/26", TODAY)
    assert not expiry_is_current("12/25", TODAY)


def test_valid_body_parses() -> None:
    request = validate(payment_body())
    assert (request.amount, request.currency, request.card_last4) == (1250, "USD", "1111")
    assert VALID_CARD not in repr(request)


def test_description_is_optional() -> None:
    assert validate(payment_body(description=None)).description is None


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"amount": 0}, "invalid_amount", "amount"),
        ({"amount": -5}, "invalid_amount", "amount"),
        ({"amount": 1_000_001}, "invalid_amount", "amount"),
        ({"amount": 12.5}, "invalid_type", "amount"),
        ({"amount": True}, "invalid_type", "amount"),
        ({"amount": "100"}, "invalid_type", "amount"),
        ({"currency": "XYZ"}, "unsupported_currency", "currency"),
        ({"currency": "usd"}, "unsupported_currency", "currency"),
        ({"currency": 840}, "invalid_type", "currency"),
        ({"merchant_id": "m!"}, "invalid_merchant_id", "merchant_id"),
        ({"card_number": "4111111111111112"}, "invalid_card_number", "card_number"),
        ({"card_number": "4111 1111 1111 1111"}, "invalid_card_number", "card_number"),
        ({"card_number": "41111111111"}, "invalid_card_number", "card_number"),
        ({"card_number": VALID_CARD + "\n"}, "invalid_card_number", "card_number"),
        ({"card_expiry": "13/30"}, "invalid_card_expiry", "card_expiry"),
        ({"card_expiry": "1/30"}, "invalid_card_expiry", "card_expiry"),
        ({"card_expiry": "10/26"}, "card_expired", "card_expiry"),
        ({"description": "x" * 257}, "invalid_description", "description"),
        ({"description": 5}, "invalid_type", "description"),
        ({"amount": None}, "missing_field", "amount"),
        ({"card_number": None}, "missing_field", "card_number"),
        ({"tip": 5}, "unknown_field", "tip"),
    ],
)
def test_invalid_field_is_named(overrides: dict[str, Any], code: str, field: str) -> None:
    error = error_of(payment_body(**overrides))
    assert (error.status, error.code, error.field) == (400, code, field)
    assert VALID_CARD not in error.message


def test_unknown_field_that_looks_like_card_data_is_not_echoed() -> None:
    error = error_of(payment_body(**{VALID_CARD: "x"}))
    assert (error.code, error.field) == ("unknown_field", None)


@pytest.mark.parametrize("body", [[], "text", 5, None])
def test_non_object_body(body: Any) -> None:
    assert error_of(body).code == "invalid_body"


@pytest.mark.parametrize(
    ("key", "code"),
    [
        (None, "missing_idempotency_key"),
        ("short", "invalid_idempotency_key"),
        ("k" * 65, "invalid_idempotency_key"),
        ("has space 123", "invalid_idempotency_key"),
    ],
)
def test_idempotency_key_rules(key: str | None, code: str) -> None:
    with pytest.raises(RequestError) as caught:
        validate_idempotency_key(key)
    assert caught.value.code == code
    assert validate_idempotency_key("Order_2026-11-25") == "Order_2026-11-25"


def test_decision_rule() -> None:
    assert decide(validate(payment_body(amount=500)), approval_limit_minor=500) == APPROVED
    assert decide(validate(payment_body(amount=501)), approval_limit_minor=500) == DECLINED
    assert decide(validate(payment_body(card_number=DECLINE_CARD)), approval_limit_minor=500) == DECLINED


def test_settings_name_every_missing_variable() -> None:
    with pytest.raises(RuntimeError, match="TABLE_NAME, RECEIPTS_BUCKET"):
        Settings.from_environment({"AWS_REGION": "us-east-1"})


def test_parse_applies_no_rule_that_depends_on_the_day_or_the_configuration() -> None:
    """A retry of a settled payment is parsed, never re-judged: expiry and the configured maximum
    belong to ``admit_payment``, which only new payments go through.
    """
    request = parse_payment(payment_body(card_expiry="01/20", amount=999_999_999))
    assert (request.card_expiry, request.amount) == ("01/20", 999_999_999)
    with pytest.raises(RequestError) as caught:
        admit_payment(request, today=TODAY, max_amount_minor=1_000_000_000)
    assert (caught.value.code, caught.value.field) == ("card_expired", "card_expiry")
    with pytest.raises(RequestError) as caught:
        admit_payment(request, today=datetime.date(2019, 12, 31), max_amount_minor=1000)
    assert (caught.value.code, caught.value.field) == ("invalid_amount", "amount")
    assert "1000" in caught.value.message, "the message names the configured maximum"


def test_expiry_turns_at_the_month_boundary() -> None:
    request = parse_payment(payment_body(card_expiry="01/31"))
    admit_payment(request, today=datetime.date(2031, 1, 31), max_amount_minor=1_000_000)
    with pytest.raises(RequestError):
        admit_payment(request, today=datetime.date(2031, 2, 1), max_amount_minor=1_000_000)


@pytest.mark.parametrize("amount", [0, -1, AMOUNT_CEILING_MINOR + 1])
def test_amount_outside_what_any_configuration_allows_is_rejected_by_parse(amount: int) -> None:
    with pytest.raises(RequestError) as caught:
        parse_payment(payment_body(amount=amount))
    assert (caught.value.code, caught.value.field) == ("invalid_amount", "amount")
