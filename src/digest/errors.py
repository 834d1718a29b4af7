"""Domain errors. Each says what went wrong and what to do; the CLI turns them into one line."""

from __future__ import annotations


class DigestError(Exception):
    """Base for every error a user can fix. `hint` says what to do about it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  {self.hint}" if self.hint else self.message


class ConfigError(DigestError):
    """digest.toml is missing, unreadable or has a bad value."""


class TemplateError(DigestError):
    """A template is missing or does not render (Jinja2 or MJML)."""


class SourceError(DigestError):
    """An article source cannot be read at all."""


class NoArticlesError(DigestError):
    """Nothing to put in an issue."""


class SubscriberError(DigestError):
    """A subscriber file or row is bad, or a subscriber operation is refused."""


class ListPaused(DigestError):
    """A list's last issue drew too many complaints: its next send waits for `--force`
    (`list_health`). `issue_id` is the issue the complaints are about."""

    def __init__(self, message: str, hint: str, issue_id: str) -> None:
        super().__init__(message, hint)
        self.issue_id = issue_id


class StateError(SourceError):
    """The state database cannot be used: a full disk, no permission, a lock, a damaged file or
    a value that is not what digest wrote. A SourceError too, as it was before it had a name."""
