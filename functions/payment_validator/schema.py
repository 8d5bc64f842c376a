"""The payment request's shape: one source for the function's validation and API Gateway's model.

API Gateway request models use JSON Schema draft 4, so the schema sticks to what draft 4 knows.
Rules a schema cannot express (Luhn, an expiry in the past, the configured maximum amount) are
checked by the function alone; the API model rejects everything else before the function runs.
"""

from __future__ import annotations

from typing import Any

SUPPORTED_CURRENCIES: tuple[str, ...] = ("AUD", "CAD", "CHF", "EUR", "GBP", "JPY", "USD")
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"
MERCHANT_ID_PATTERN = r"^[A-Za-z0-9_-]{3,64}$"
CARD_NUMBER_PATTERN = r"^[0-9]{12,19}$"
CARD_EXPIRY_PATTERN = r"^(0[1-9]|1[0-2])/[0-9]{2}$"
DESCRIPTION_MAX_LENGTH = 256
# The largest amount a schema can know; the deployed maximum (config) may be lower, never higher.
AMOUNT_CEILING_MINOR = 100_000_000_00

REQUIRED_FIELDS: tuple[str, ...] = ("amount", "currency", "merchant_id", "card_number", "card_expiry")
OPTIONAL_FIELDS: tuple[str, ...] = ("description",)

PAYMENT_REQUEST_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "title": "PaymentRequest",
    "type": "object",
    "additionalProperties": False,
    "required": list(REQUIRED_FIELDS),
    "properties": {
        "amount": {"type": "integer", "minimum": 1, "maximum": AMOUNT_CEILING_MINOR},
        "currency": {"type": "string", "enum": list(SUPPORTED_CURRENCIES)},
        "merchant_id": {"type": "string", "pattern": MERCHANT_ID_PATTERN},
        "card_number": {"type": "string", "pattern": CARD_NUMBER_PATTERN},
        "card_expiry": {"type": "string", "pattern": CARD_EXPIRY_PATTERN},
        "description": {"type": "string", "maxLength": DESCRIPTION_MAX_LENGTH},
    },
}
