"""Who gets Prometheus's alerts: the `RETRAIN_ALERT_*` settings Alertmanager's config is written
from (stack/alertmanager.py), checked before anything starts; errors name the setting, never a
secret's value."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from stack.base import StackError

# Go duration as Alertmanager parses it: 30s, 5m, 1h30m, 1d
_DURATION = re.compile(r"^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$")


class AlertSettings(BaseSettings):
    """Who gets Prometheus's alerts (`RETRAIN_ALERT_*`): Slack, email, PagerDuty, and timings."""

    model_config = SettingsConfigDict(
        env_prefix="RETRAIN_ALERT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    slack_webhook_url: SecretStr | None = Field(
        default=None, description="Slack incoming-webhook URL (a secret); unset: no Slack."
    )
    slack_channel: str | None = Field(
        default=None, description="Channel to post to; unset: the webhook's own channel."
    )
    email_to: str | None = Field(
        default=None, description="Address(es), comma-separated, that get alert emails."
    )
    email_from: str | None = Field(default=None, description="Sender of the alert emails.")
    smtp_host: str | None = Field(default=None, description="SMTP server as host:port.")
    smtp_username: str | None = Field(default=None, description="SMTP login; unset: no AUTH.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password (secret).")
    smtp_require_tls: bool = Field(
        default=True, description="Refuse an SMTP server without STARTTLS (Go's default)."
    )
    pagerduty_routing_key: SecretStr | None = Field(
        default=None, description="PagerDuty Events API v2 integration key (a secret)."
    )
    pagerduty_url: str = Field(
        default="https://events.pagerduty.com/v2/enqueue",
        description="PagerDuty Events API v2 endpoint.",
    )
    pagerduty_severity: str = Field(
        default="critical",
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Alerts with this severity label page.",
    )
    group_wait: str = Field(default="30s", description="Wait before a new group's first send.")
    group_interval: str = Field(
        default="5m", description="Wait before a group's next send when alerts join it."
    )
    repeat_interval: str = Field(
        default="4h", description="Resend a group whose alerts still fire after this long."
    )

    @field_validator(
        "slack_webhook_url",
        "slack_channel",
        "email_to",
        "email_from",
        "smtp_host",
        "smtp_username",
        "smtp_password",
        "pagerduty_routing_key",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("slack_webhook_url")
    @classmethod
    def _http(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("http://", "https://")):
            raise ValueError("not an http(s) URL")  # the value is a secret: never echoed
        return value

    @field_validator("group_wait", "group_interval", "repeat_interval")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not value or not _DURATION.match(value):
            raise ValueError(f"{value!r} is not a duration such as 30s, 5m or 4h")
        return value

    @model_validator(mode="after")
    def _email_complete(self) -> AlertSettings:
        if self.email_to:
            missing = [n for n in ("email_from", "smtp_host") if not getattr(self, n)]
            if missing:
                names = ", ".join(f"RETRAIN_ALERT_{n.upper()}" for n in missing)
                raise ValueError(f"RETRAIN_ALERT_EMAIL_TO is set: it needs {names} too")
            if ":" not in (self.smtp_host or ""):
                raise ValueError(
                    f"RETRAIN_ALERT_SMTP_HOST {self.smtp_host!r} needs a port (host:port)"
                )
        if self.smtp_password and not self.smtp_username:
            raise ValueError(
                "RETRAIN_ALERT_SMTP_PASSWORD is set but RETRAIN_ALERT_SMTP_USERNAME is not"
            )
        return self

    def receivers(self) -> list[str]:
        """The channels configured, in the order the docs name them."""
        return [
            name
            for name, on in (
                ("slack", self.slack_webhook_url is not None),
                ("email", bool(self.email_to)),
                ("pagerduty", self.pagerduty_routing_key is not None),
            )
            if on
        ]


def alert_settings() -> AlertSettings:
    """Read the alert settings now; a StackError naming the setting when one is wrong."""
    try:
        return AlertSettings()
    except ValidationError as exc:
        raise StackError(f"alert settings: {explain(exc)}") from exc


def explain(exc: ValidationError) -> str:
    """The errors naming each setting, without the values given (some are secrets)."""
    return "; ".join(
        (f"RETRAIN_ALERT_{'_'.join(map(str, e['loc'])).upper()}: " if e["loc"] else "")
        + e["msg"].removeprefix("Value error, ")
        for e in exc.errors(include_input=False, include_url=False)
    )
