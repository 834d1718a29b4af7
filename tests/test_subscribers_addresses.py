"""Address checking: email-validator's answers, including through the fast path."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email

from digest.subscribers import InvalidAddress, normalise
from digest.subscribers.addresses import key

# Plain, unusual-but-valid, international, role names, and invalid ones of many kinds.
CORPUS = [
    "ada@example.com",
    "Ada.Lovelace@Example.COM",
    "user+tag@example.co.uk",
    "o'brien@example.ie",
    "x@example.museum",
    "!#$%&'*+/=?^_`{|}~-@example.org",
    "first.last@sub.domain.example.com",
    "Postmaster@Example.com",
    "INFO@example.com",
    "user@bücher.de",
    "user@XN--BCHER-KVA.de",
    "ünicode@example.com",
    "用户@例子.广告",
    '"quoted"@example.com',
    "a..b@example.com",
    ".a@example.com",
    "a.@example.com",
    "a@b",
    "a@localhost",
    "a@-example.com",
    "a@example..com",
    "a@exa_mple.com",
    "a b@example.com",
    "Ada <ada@example.com>",
    "ada@example.com.",
    "@example.com",
    "ada@",
    "ada",
    "a@b@example.com",
    "user@[192.0.2.1]",
    "x" * 64 + "@example.com",
    "x" * 65 + "@example.com",
    "x" * 60 + "@" + ".".join(["a" * 60] * 3) + ".com",
    "x" * 10 + "@" + ".".join(["a" * 63] * 3) + ".com",
    "a@" + "ü" * 20 + ".de",
    "user@example.invalid",
    "user@example.test",
    "user@123.example",
    "user@example.c",
]


@pytest.mark.parametrize("address", CORPUS)
def test_same_answer_as_email_validator(address: str) -> None:
    try:
        expected = validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        with pytest.raises(InvalidAddress) as got:
            normalise(address)
        assert str(got.value) == str(exc)
    else:
        assert normalise(address) == expected


def test_normalisation_and_identity() -> None:
    assert normalise("  Ada@EXAMPLE.com\t") == "Ada@example.com"
    assert normalise("user@XN--BCHER-KVA.de") == "user@bücher.de"
    assert key("ADA@example.com") == key("ada@Example.com") == "ada@example.com"
    assert key("user@xn--bcher-kva.de") == key("User@BÜCHER.de")


def test_invalid_addresses_carry_the_validators_reason() -> None:
    with pytest.raises(InvalidAddress, match="two periods in a row"):
        normalise("a..b@example.com")
    with pytest.raises(InvalidAddress, match="empty"):
        normalise("   ")
