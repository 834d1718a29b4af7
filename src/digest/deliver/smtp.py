"""The SMTP sender: one connection (smtplib), one mail transaction per reader, so every reader's
envelope names only them.

How SMTP answers become the outcomes of `deliver.base`:

- at `open` (connect, EHLO, STARTTLS, login): a refused or timed-out connection, a 4xx greeting
  or a server that hangs up is `Transient` (it may come back); a bad login, a TLS failure (an
  untrusted certificate, TLS on a plain port), a server without STARTTLS when asked for it and a
  5xx greeting are `Permanent` (bad settings: nothing will work).
- MAIL FROM refused: 5xx is `Permanent` (the server will not take the list's sender address),
  4xx `Transient`.
- RCPT TO or the message refused (4xx or 5xx): that reader's failed `Result`, with the server's
  code and words; `--retry-failed` tries a 4xx one again.
- the connection lost before the message was handed over (at MAIL or RCPT, or a 421 "closing"
  answer anywhere): nothing was taken, so the sender reconnects once and sends that message
  again on the fresh connection.
- the connection lost inside DATA, before the server's final answer: the server may have taken
  the message, so it is not sent again: `Unknown`.

Once the server has taken one message of a batch, `send` never raises `Transient` or
`Permanent` for that batch: a retry of the batch, or its release, would send those readers a
second copy. The rest of the batch become failed results with the reason instead; the next
batch meets the trouble at its first message and raises it then.

The password comes from SMTP_PASSWORD (`from_env`) and goes only to `smtplib.login`. It is
refused with `security = "none"` unless the server is on this machine (localhost, 127.0.0.1,
::1): digest does not send a password in clear text across a network. Server answers quoted in
results, errors and logs have the password (and the base64 forms AUTH sends) masked, in case a
server echoes what it was sent. `ssl_context` lets a caller trust its own certificate
authority (tests, a company CA); the default is `ssl.create_default_context()`.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import os
import smtplib
import ssl
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from email.utils import parseaddr

from ..config.delivery import SmtpSettings
from ..text import line, shorten
from .base import Letter, Permanent, Recipient, Result, Sender, Transient, Unknown

__all__ = ["SmtpSender"]

log = logging.getLogger(__name__)

SECURITY = ("starttls", "ssl", "none")
_PORTS_HINT = 'Use security = "starttls" with port 587, or "ssl" with port 465.'
_LOGIN_HINT = "Check delivery.smtp.username in digest.toml and SMTP_PASSWORD in the environment."
_REPLY_CHARS = 300


class _Dropped(Exception):
    """The connection went before the server took the message: safe to send it again."""


class SmtpSender(Sender):
    """Delivers through an SMTP server, one reader per mail transaction; not thread-safe."""

    name = "smtp"
    batch_size = 50
    concurrency = 1

    def __init__(
        self,
        settings: SmtpSettings,
        password: str | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if settings.security not in SECURITY:
            raise Permanent(
                f"delivery.smtp.security {settings.security!r} is not allowed",
                "Use starttls, ssl or none.",
            )
        self.settings = settings
        self._password = password or None
        self._ssl_context = ssl_context
        self._smtp: smtplib.SMTP | None = None

    @classmethod
    def from_env(
        cls, settings: SmtpSettings, *, ssl_context: ssl.SSLContext | None = None
    ) -> SmtpSender:
        """The sender with the password from SMTP_PASSWORD (secrets never live in digest.toml)."""
        return cls(settings, os.environ.get("SMTP_PASSWORD") or None, ssl_context=ssl_context)

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def __repr__(self) -> str:
        return f"SmtpSender({self.where}, security={self.settings.security!r})"

    # The connection.

    def open(self) -> None:
        """Connect and log in now, so bad settings stop the send before any batch."""
        self._connection()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass  # going anyway
        finally:
            smtp.close()

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            self._smtp = self._connect()
        return self._smtp

    def _drop(self) -> None:
        """Forget a broken connection; the next message opens a fresh one."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    def _connect(self) -> smtplib.SMTP:
        self._check_login()
        try:
            smtp = self._dial()
        except (smtplib.SMTPException, OSError) as exc:
            raise self._open_error(exc) from None
        try:
            self._greet(smtp)
        except BaseException as exc:
            smtp.close()
            if isinstance(exc, smtplib.SMTPException | OSError):
                raise self._open_error(exc) from None
            raise
        return smtp

    def _check_login(self) -> None:
        """Refuse before connecting: a login without a password, or one sent in clear text."""
        s = self.settings
        if not s.username:
            return
        if not self._password:
            raise Permanent(
                f"delivery.smtp.username is {s.username!r} but SMTP_PASSWORD is not set",
                "Set SMTP_PASSWORD in the environment to the account's password.",
            )
        if s.security == "none" and not _on_this_machine(s.host):
            raise Permanent(
                f'not sending the SMTP password to {s.host} unencrypted (security = "none")',
                _PORTS_HINT + ' "none" logs in only to a server on this machine.',
            )

    def _tls(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _dial(self) -> smtplib.SMTP:
        s = self.settings
        if s.security == "ssl":
            return smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self._tls())
        return smtplib.SMTP(s.host, s.port, timeout=s.timeout)

    def _greet(self, smtp: smtplib.SMTP) -> None:
        """EHLO, STARTTLS when asked for (and EHLO again over TLS), then the login."""
        smtp.ehlo_or_helo_if_needed()
        if self.settings.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise Permanent(f"{self.where} does not offer STARTTLS", _PORTS_HINT)
            smtp.starttls(context=self._tls())
            smtp.ehlo()
        if self.settings.username:
            smtp.login(self.settings.username, self._password or "")

    def _open_error(self, exc: OSError) -> Transient | Permanent:
        """What a failure to connect means: bad settings (Permanent) or a server away now."""
        where = self.where
        if isinstance(exc, ssl.SSLCertVerificationError):
            return Permanent(
                f"the certificate of {where} is not trusted: {exc.verify_message}",
                "The certificate must be valid for delivery.smtp.host.",
            )
        if isinstance(exc, ssl.SSLError):
            return Permanent(f"TLS with {where} failed: {exc.reason or exc}", _PORTS_HINT)
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            said = self._said(exc.smtp_code, exc.smtp_error)
            who = self.settings.username
            return Permanent(f"{where} refused the login of {who!r}: {said}", _LOGIN_HINT)
        if isinstance(exc, smtplib.SMTPNotSupportedError) or type(exc) is smtplib.SMTPException:
            return Permanent(f"{where} offers no login digest can use: {exc}", _PORTS_HINT)
        if isinstance(exc, smtplib.SMTPResponseException):
            said = self._said(exc.smtp_code, exc.smtp_error)
            if exc.smtp_code >= 500:
                return Permanent(f"{where} refused the connection: {said}")
            return Transient(f"{where} is not taking mail now: {said}")
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return Transient(f"lost the connection to {where} while connecting: {_os_reason(exc)}")
        return Transient(f"cannot connect to {where}: {_os_reason(exc)}")

    # Sending.

    def send(self, letter: Letter, batch: Sequence[Recipient]) -> list[Result]:
        """Each reader in turn; after one went out, trouble fails the rest instead of raising."""
        envelope_from = parseaddr(letter.sender)[1]
        results: list[Result] = []
        for i, r in enumerate(batch):
            try:
                results.append(self._deliver(letter, envelope_from, r))
            except Unknown as exc:
                # This reader's copy is in doubt, nobody else's: the ones before went out, the
                # ones after are tried on a fresh connection.
                self._drop()
                results.append(Result(r.email, "unknown", error=exc.reason))
            except (Transient, Permanent) as exc:
                if not any(res.status == "sent" for res in results):
                    if isinstance(exc, Transient):
                        self._drop()  # the retry gets a fresh connection
                    raise
                why = exc.reason if isinstance(exc, Transient) else exc.message
                log.warning("%s: the rest of a batch failed after some went out: %s", self, why)
                results += [Result(x.email, "failed", error=why) for x in batch[i:]]
                break
        return results

    def _deliver(self, letter: Letter, envelope_from: str, r: Recipient) -> Result:
        """One reader's copy; on a connection lost before the server took it, one more try."""
        try:
            message = letter.message_for(r)
        except ValueError as exc:  # an address the email package cannot put in a header
            return Result(r.email, "failed", error=f"cannot build this reader's message: {exc}")
        for attempt in (1, 2):
            try:
                return self._transaction(self._connection(), message, envelope_from, r)
            except _Dropped as exc:
                self._drop()
                if attempt == 2:
                    raise Transient(
                        f"{self.where} dropped the connection twice sending to {r.email}: {exc}"
                    ) from None
                log.warning("%s dropped the connection (%s); reconnecting", self.where, exc)
        raise AssertionError("unreachable")

    def _transaction(
        self, smtp: smtplib.SMTP, message: EmailMessage, envelope_from: str, r: Recipient
    ) -> Result:
        """MAIL, RCPT, DATA for one reader. Raises _Dropped while it is safe to send again."""
        international = not (envelope_from + r.email).isascii()
        if international and not smtp.has_extn("smtputf8"):
            why = f"{self.where} does not support SMTPUTF8, which the address {r.email} needs"
            return Result(r.email, "failed", error=why)
        payload = _payload(message, international)
        options = ["SMTPUTF8"] if international else []
        if not payload.isascii() and smtp.has_extn("8bitmime"):
            options.append("BODY=8BITMIME")
        code, text = self._ask(lambda: smtp.mail(envelope_from, options))
        if code != 250:
            self._reset(smtp)
            raise self._sender_refused(envelope_from, code, text)
        code, text = self._ask(lambda: smtp.rcpt(r.email))
        if code not in (250, 251):
            self._reset(smtp)
            return Result(r.email, "failed", error=self._said(code, text))
        return self._data(smtp, message, payload, r)

    def _data(
        self, smtp: smtplib.SMTP, message: EmailMessage, payload: bytes, r: Recipient
    ) -> Result:
        """DATA: a connection lost here may be after the server took the message: Unknown."""
        try:
            code, text = smtp.data(payload)
        except smtplib.SMTPDataError as exc:  # DATA itself refused: nothing went out
            code, text = exc.smtp_code, exc.smtp_error
        except smtplib.SMTPServerDisconnected as exc:
            raise self._in_doubt(r, exc) from None
        except smtplib.SMTPException:
            raise
        except OSError as exc:
            raise self._in_doubt(r, exc) from None
        if code == 421:
            raise _Dropped(self._said(code, text))
        if code != 250:
            self._reset(smtp)
            return Result(r.email, "failed", error=self._said(code, text))
        return Result(r.email, "sent", message_id=message["Message-ID"])

    def _in_doubt(self, r: Recipient, exc: OSError) -> Unknown:
        self._drop()
        return Unknown(
            f"the connection to {self.where} broke while sending to {r.email}, before the "
            f"server's answer ({_os_reason(exc)}): it may have taken the message"
        )

    def _ask(self, command: Callable[[], tuple[int, bytes]]) -> tuple[int, bytes]:
        """A command before DATA; a lost connection or a 421 becomes _Dropped."""
        try:
            code, text = command()
        except smtplib.SMTPServerDisconnected as exc:
            raise _Dropped(_os_reason(exc)) from None
        except smtplib.SMTPException:
            raise
        except OSError as exc:
            raise _Dropped(_os_reason(exc)) from None
        if code == 421:
            raise _Dropped(self._said(code, text))
        return code, text

    def _reset(self, smtp: smtplib.SMTP) -> None:
        """RSET after a refusal, so the next reader starts a clean transaction."""
        try:
            smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _sender_refused(self, address: str, code: int, text: bytes) -> Transient | Permanent:
        said = self._said(code, text)
        if code >= 500:
            hint = _LOGIN_HINT if code == 530 else "Check the list's sender in digest.toml."
            return Permanent(f"{self.where} refused the sender {address}: {said}", hint)
        return Transient(f"{self.where} refused the sender {address} for now: {said}")

    def _said(self, code: int, text: bytes | str) -> str:
        """A server's answer as one short line, with the password masked."""
        words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        said = shorten(line(f"{code} {words}"), _REPLY_CHARS)
        for secret in self._secrets():
            said = said.replace(secret, "***")
        return said

    def _secrets(self) -> list[str]:
        """The password as sent: itself, and in the base64 of AUTH LOGIN and AUTH PLAIN."""
        if not self._password:
            return []
        user = self.settings.username or ""
        forms = (self._password, f"\0{user}\0{self._password}")
        return [self._password] + [base64.b64encode(f.encode()).decode() for f in forms]


def _payload(message: EmailMessage, international: bool) -> bytes:
    """The message's bytes; with SMTPUTF8, addresses in the headers go as UTF-8."""
    if international:
        return message.as_bytes(policy=message.policy.clone(utf8=True))
    return message.as_bytes()


def _on_this_machine(host: str) -> bool:
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _os_reason(exc: OSError) -> str:
    return line(exc.strerror or str(exc) or type(exc).__name__)
