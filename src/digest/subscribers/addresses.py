"""Check and normalise email addresses with email-validator (syntax only, never the network).

Validating a million addresses one by one costs about half a minute, most of it in checking
the domain. So the common case takes a fast path: a plain ASCII local part (the same dot-atom
pattern email-validator tries first) joined to a domain that email-validator itself checked and
normalised once and that is then remembered. Everything else (quoted or international local
parts, role names such as `postmaster`, very long addresses, any doubt) goes to the validator
in full. `tests/test_subscribers_addresses.py` checks that both paths give the same answers.

One rule is digest's own: a local part (before the @) over 64 octets is refused. RFC 5321 sets
that limit and mail servers and SendGrid enforce it; email-validator checks it only in strict
mode, which would also change other answers. Which unusual forms are refused or accepted, and
why, is written down in docs/subscribers.md.
"""

from __future__ import annotations

import re
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

# RFC 5322 atext, as in email_validator.rfc_constants.ATEXT.
_ATEXT = r"a-zA-Z0-9_!#\$%&'\*\+\-/=\?\^`\{\|\}~"
_PLAIN = re.compile(rf"([{_ATEXT}]+(?:\.[{_ATEXT}]+)*)@([^@\s\"\[\]]+)\Z")
# Local parts email-validator lower-cases (RFC 2142); these take the slow path.
_ROLE_NAMES = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)
_MAX_OCTETS = 254  # the validator's limit for the whole address, in UTF-8 octets
_MAX_LOCAL_OCTETS = 64  # RFC 5321 4.5.3.1.1, in UTF-8 octets (SMTPUTF8 counts octets too)


class InvalidAddress(ValueError):
    """The address is not valid; the message is email-validator's reason."""


def normalise(address: str) -> str:
    """The normalised form of an address: surrounding space removed, the domain lower-cased and
    in Unicode (`user@XN--BCHER-KVA.de` -> `user@bücher.de`). Raises InvalidAddress."""
    text = address.strip()
    if not text:
        raise InvalidAddress("The address is empty.")
    m = _PLAIN.match(text)
    if m is not None and m.group(1).lower() not in _ROLE_NAMES:
        local = m.group(1)
        checked = _domain(m.group(2))
        if checked is not None and len(local) <= _MAX_LOCAL_OCTETS:
            domain, longest = checked
            if len(local) + 1 + max(longest, len(m.group(2).encode())) <= _MAX_OCTETS:
                return f"{local}@{domain}"
    return _check_local(_full(text))


def key(address: str) -> str:
    """The identity of an address: normalised and case-folded, so `Ada@x.org` is `ada@x.org`."""
    return normalise(address).casefold()


@lru_cache(maxsize=65536)
def _domain(domain: str) -> tuple[str, int] | None:
    """The validator's normalised form of a domain and the octet length of its longest form,
    or None to make the caller ask the validator about the whole address."""
    try:
        v = validate_email("x@" + domain, check_deliverability=False)
    except EmailNotValidError:
        return None
    return v.domain, max(len(v.domain.encode()), len(v.ascii_domain))


def _check_local(address: str) -> str:
    """The normalised address, unless its local part is longer than servers take."""
    octets = len(address.rpartition("@")[0].encode())
    if octets > _MAX_LOCAL_OCTETS:
        raise InvalidAddress(
            f"The email address is too long before the @-sign ({octets} octets; at most "
            f"{_MAX_LOCAL_OCTETS} are allowed, and mail servers refuse longer ones)."
        )
    return address


@lru_cache(maxsize=4096)
def _full(text: str) -> str:
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidAddress(str(exc)) from None
