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
    "X" * 65 + "@Example.com",
    "ü" * 32 + "@example.com",
    "ü" * 33 + "@example.com",
    "x" * 63 + "ü@example.com",
    "Postmaster" + "x" * 60 + "@example.com",
    "x" * 60 + "@" + ".".join(["a" * 60] * 3) + ".com",
    "x" * 10 + "@" + ".".join(["a" * 63] * 3) + ".com",
    "a@" + "ü" * 20 + ".de",
    "user@example.invalid",
    "user@example.test",
    "user@123.example",
    "user@example.c",
]


def _local_octets(address: str) -> int:
    return len(address.rpartition("@")[0].encode())


@pytest.mark.parametrize("address", CORPUS)
def test_same_answer_as_email_validator(address: str) -> None:
    """The validator's answer, except that digest also refuses a local part over 64 octets
    (which the validator checks only in strict mode)."""
    try:
        expected = validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        with pytest.raises(InvalidAddress) as got:
            normalise(address)
        assert str(got.value) == str(exc)
    else:
        if _local_octets(expected) > 64:
            with pytest.raises(InvalidAddress, match="too long before the @-sign"):
                normalise(address)
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


def test_a_local_part_over_64_octets_is_refused_with_the_reason() -> None:
    assert normalise("x" * 64 + "@example.com") == "x" * 64 + "@example.com"
    with pytest.raises(InvalidAddress) as exc:
        normalise("x" * 65 + "@example.com")
    assert str(exc.value) == (
        "The email address is too long before the @-sign (65 octets; at most 64 are allowed, "
        "and mail servers refuse longer ones)."
    )
    assert normalise("ü" * 32 + "@example.com") == "ü" * 32 + "@example.com"  # 64 octets
    with pytest.raises(InvalidAddress, match=r"\(66 octets; at most 64"):
        normalise("ü" * 33 + "@example.com")  # 33 characters, 66 octets in UTF-8


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ('"ada lovelace"@example.com', "Quoting the part before the @-sign is not allowed"),
        ("ada@[192.0.2.1]", "A bracketed IP address after the @-sign is not allowed"),
        ("ada@localhost", "It should have a period"),
        ("ada@example.test", "special-use or reserved name"),
    ],
)
def test_unusual_forms_digest_refuses(address: str, reason: str) -> None:
    with pytest.raises(InvalidAddress, match=reason):
        normalise(address)


def test_unusual_forms_digest_accepts() -> None:
    assert normalise("ünicode@example.com") == "ünicode@example.com"  # needs SMTPUTF8
    assert normalise("用户@例子.广告") == "用户@例子.广告"
    assert normalise("user@XN--BCHER-KVA.de") == "user@bücher.de"
    assert normalise("Postmaster@Example.com") == "postmaster@example.com"
    assert normalise("o'brien+news@example.ie") == "o'brien+news@example.ie"
