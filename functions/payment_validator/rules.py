"""Pure payment rules: validation of a request body and the approve/decline decision. No I/O."""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Mapping
from typing import Any

from .schema import (
    AMOUNT_CEILING_MINOR,
    CARD_EXPIRY_PATTERN,
    CARD_NUMBER_PATTERN,
    DESCRIPTION_MAX_LENGTH,
    IDEMPOTENCY_KEY_PATTERN,
    MERCHANT_ID_PATTERN,
    OPTIONAL_FIELDS,
    REQUIRED_FIELDS,
    SUPPORTED_CURRENCIES,
)

APPROVED = "APPROVED"
DECLINED = "DECLINED"
# Issuer-decline simulation: cards ending in 0002 are declined, as with the industry's common test
# card 4000 0000 0000 0002, so that clients can exercise their decline path deterministically.
ISSUER_DECLINE_LAST4 = "0002"

_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
_MERCHANT_ID = re.compile(MERCHANT_ID_PATTERN)
_CARD_NUMBER = re.compile(CARD_NUMBER_PATTERN)
_CARD_EXPIRY = re.compile(CARD_EXPIRY_PATTERN)
# Field names are echoed in errors only when they look like field names: never a run of digits that
# could be a card number pasted into the wrong place.
_ECHOABLE_FIELD = re.compile(r"[A-Za-z_][A-Za-z_]{0,31}")


class RequestError(Exception):
    """A client error: ``status`` and a stable ``code``; ``message`` never repeats the card number."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


@dataclasses.dataclass(frozen=True, kw_only=True)
class PaymentRequest:
    """A validated payment request. ``card_number`` stays in memory only."""

    amount: int
    currency: str
    merchant_id: str
    card_number: str = dataclasses.field(repr=False)
    card_expiry: str
    description: str | None

    @property
    def card_last4(self) -> str:
        """The last four digits, the only part of the card number ever kept."""
        return self.card_number[-4:]


def luhn_valid(number: str) -> bool:
    """The Luhn (mod 10) check on a string of digits."""
    if not number.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def expiry_is_current(expiry: str, today: datetime.date) -> bool:
    """Whether ``MM/YY`` is this month or later (a card is valid to the end of its month)."""
    month, year = int(expiry[:2]), 2000 + int(expiry[3:])
    return (year, month) >= (today.year, today.month)


def validate_idempotency_key(value: str | None) -> str:
    """The ``Idempotency-Key`` header's value, or a 400."""
    if value is None:
        raise RequestError(400, "missing_idempotency_key", "the Idempotency-Key header is required", "Idempotency-Key")
    if not _IDEMPOTENCY_KEY.fullmatch(value):
        raise RequestError(
            400,
            "invalid_idempotency_key",
            "Idempotency-Key must be 8 to 64 characters of A-Z a-z 0-9 _ -",
            "Idempotency-Key",
        )
    return value


def _string(body: Mapping[str, Any], field: str) -> str:
    value = body[field]
    if not isinstance(value, str):
        raise RequestError(400, "invalid_type", f"{field} must be a string", field)
    return value


def parse_payment(body: Any) -> PaymentRequest:
    """Check a decoded JSON body against every rule that holds forever (shape, types, formats, Luhn,
    a positive amount); raise ``RequestError`` naming the first problem.

    Rules that depend on the date or on configuration are ``admit_payment``'s: they decide whether a
    *new* payment may start, and must never turn a retry of a payment already settled into a 400.
    """
    _check_shape(body)
    amount = _check_amount(body["amount"])
    currency = _string(body, "currency")
    if currency not in SUPPORTED_CURRENCIES:
        raise RequestError(
            400, "unsupported_currency", f"currency must be one of {', '.join(SUPPORTED_CURRENCIES)}", "currency"
        )
    merchant_id = _string(body, "merchant_id")
    if not _MERCHANT_ID.fullmatch(merchant_id):
        raise RequestError(400, "invalid_merchant_id", "merchant_id must be 3 to 64 of A-Z a-z 0-9 _ -", "merchant_id")
    card_number, card_expiry = _check_card(body)
    return PaymentRequest(
        amount=amount,
        currency=currency,
        merchant_id=merchant_id,
        card_number=card_number,
        card_expiry=card_expiry,
        description=_check_description(body.get("description")),
    )


def admit_payment(request: PaymentRequest, *, today: datetime.date, max_amount_minor: int) -> None:
    """The rules a new payment must pass on the day it is made, under the configuration of the day:
    the card has not expired and the amount is within the configured maximum. Raises ``RequestError``.
    """
    if request.amount > max_amount_minor:
        raise RequestError(
            400, "invalid_amount", f"amount must be between 1 and {max_amount_minor} minor units", "amount"
        )
    if not expiry_is_current(request.card_expiry, today):
        raise RequestError(400, "card_expired", "the card has expired", "card_expiry")


def validate_payment(body: Any, *, today: datetime.date, max_amount_minor: int) -> PaymentRequest:
    """``parse_payment`` then ``admit_payment``: every rule, for a request known to be new."""
    request = parse_payment(body)
    admit_payment(request, today=today, max_amount_minor=max_amount_minor)
    return request


def _check_shape(body: Any) -> None:
    if not isinstance(body, dict):
        raise RequestError(400, "invalid_body", "the body must be a JSON object")
    unknown = sorted(set(body) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS))
    if unknown:
        # The name is echoed only when it is short and plain: a client must never see card data back.
        field = unknown[0] if _ECHOABLE_FIELD.fullmatch(unknown[0]) else None
        raise RequestError(400, "unknown_field", "the body has a field this API does not accept", field)
    for field in REQUIRED_FIELDS:
        if field not in body:
            raise RequestError(400, "missing_field", f"{field} is required", field)


def _check_amount(amount: Any) -> int:
    # bool is an int in Python; JSON true is not an amount.
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise RequestError(400, "invalid_type", "amount must be an integer number of minor units", "amount")
    if amount <= 0:
        raise RequestError(400, "invalid_amount", "amount must be at least 1 minor unit", "amount")
    if amount > AMOUNT_CEILING_MINOR:
        raise RequestError(
            400, "invalid_amount", f"amount must be at most {AMOUNT_CEILING_MINOR} minor units", "amount"
        )
    return amount


def _check_card(body: dict[str, Any]) -> tuple[str, str]:
    card_number = _string(body, "card_number")
    if not _CARD_NUMBER.fullmatch(card_number) or not luhn_valid(card_number):
        raise RequestError(400, "invalid_card_number", "card_number is not a valid card number", "card_number")
    card_expiry = _string(body, "card_expiry")
    if not _CARD_EXPIRY.fullmatch(card_expiry):
        raise RequestError(400, "invalid_card_expiry", "card_expiry must be MM/YY", "card_expiry")
    return card_number, card_expiry


def _check_description(description: Any) -> str | None:
    if description is None:
        return None
    if not isinstance(description, str):
        raise RequestError(400, "invalid_type", "description must be a string", "description")
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise RequestError(
            400,
            "invalid_description",
            f"description must be at most {DESCRIPTION_MAX_LENGTH} characters",
            "description",
        )
    return description


def decide(request: PaymentRequest, *, approval_limit_minor: int) -> str:
    """The documented, deterministic decision: DECLINED above the approval limit or for the issuer
    decline card (last four digits 0002); APPROVED otherwise.
    """
    if request.amount > approval_limit_minor or request.card_last4 == ISSUER_DECLINE_LAST4:
        return DECLINED
    return APPROVED
