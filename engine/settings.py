"""The service's settings: one frozen dataclass, built from a mapping (the environment, a test).

An unknown name is refused, naming it, rather than ignored: a misspelt setting would otherwise leave
the default in force without a word.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.errors import InvalidInput

_FALSE = frozenset({"0", "false", "no", "off", ""})
_BOOLS = frozenset({"deliver_outbox", "smtp_tls", "cookie_secure"})


@dataclass(frozen=True)
class Settings:
    processes_dir: str | None = None
    deliver_outbox: bool | None = None  # None: the command decides (the worker, and serve on SQLite)
    timer_interval: float = 1.0
    token_cache_seconds: float = 5.0
    token_days: float = 30.0  # a new token's lifetime, on the wall clock
    handler_max_attempts: int = 5
    sla_warning_ratio: float = 0.75
    outbox_max_attempts: int = 6
    outbox_backoff_seconds: float = 30.0
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_tls: bool = False
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "weibao@localhost"
    mail_domain: str = "localhost"
    webhook_secret: str = ""
    sms_gateway_url: str = ""
    roster_file: str | None = None
    # Signed checkpoints: the private key and the witness live outside the database (and its admin's reach).
    audit_key_file: str | None = None  # Ed25519 private key (PEM); `weibao audit keygen` writes it
    audit_public_key_file: str | None = None  # default: audit_key_file + ".pub"
    witness_file: str | None = None  # append-only JSONL, one signed checkpoint a line
    witness_url: str = ""  # optional: each checkpoint is also POSTed here
    checkpoint_interval: float = 3600.0  # seconds between automatic checkpoints
    # The zone times are shown in, to people and in API answers: an offset (+08:00) or a zone name
    # (Asia/Shanghai). Every contract so far is in Beijing time; the store keeps UTC regardless.
    timezone: str = "+08:00"
    # Signs the console's session cookies; empty: a random key per start (sessions end with the server).
    secret_key: str = ""
    # The console's cookie is marked Secure: None follows each request's scheme (https → Secure); true
    # always (behind a proxy that ends TLS and forwards plain http); false never.
    cookie_secure: bool | None = None
    # What service-task handlers read besides `roster_file`; handlers never see the others (secrets).
    handler_settings: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def of(cls, values: Settings | Mapping[str, object] | None = None) -> Settings:
        if isinstance(values, Settings):
            return values
        given = dict(values or {})
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise InvalidInput(f"unknown settings: {', '.join(unknown)}",
                               details={"fields": dict.fromkeys(unknown, "unknown setting")})
        defaults = cls()
        changes: dict[str, Any] = {n: _coerce(n, getattr(defaults, n), v) for n, v in given.items()}
        return replace(defaults, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Each setting from `WEIBAO_<NAME>` (e.g. `WEIBAO_SMTP_HOST`); unset or empty keeps the default."""
        names = [f.name for f in fields(cls) if f.name != "handler_settings"]
        given = {n: environ.get(f"WEIBAO_{n.upper()}") for n in names}
        return cls.of({n: v for n, v in given.items() if v})

    def zone(self) -> tzinfo:
        return parse_zone(self.timezone)

    def for_handlers(self) -> Mapping[str, object]:
        return MappingProxyType({"roster_file": self.roster_file, **self.handler_settings})


def parse_zone(text: str) -> tzinfo:
    """`+08:00`, `-05:30`, `Z` or an IANA name; ValueError for anything else."""
    if text in ("Z", "UTC"):
        return UTC
    if text[:1] in "+-" and len(text) == 6 and text[3] == ":":
        sign = -1 if text[0] == "-" else 1
        offset = timedelta(hours=int(text[1:3]), minutes=int(text[4:6]))
        if offset < timedelta(hours=24):
            return timezone(sign * offset)
    try:
        zone = ZoneInfo(text)
        datetime(2026, 1, 1, tzinfo=zone).utcoffset()
        return zone
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{text!r} is neither an offset like +08:00 nor a zone name like Asia/Shanghai") \
            from exc


def _coerce(name: str, default: object, value: object) -> object:
    """Values from the environment arrive as text; each is converted to its field's type."""
    try:
        if name == "timezone":
            parse_zone(str(value))
            return str(value)
        if name == "handler_settings":
            return MappingProxyType(dict(value))  # type: ignore[call-overload]
        if name in _BOOLS:
            return value if isinstance(value, bool) else str(value).strip().lower() not in _FALSE
        if isinstance(default, int):
            return int(str(value))
        if isinstance(default, float):
            return float(str(value))
        return None if value is None else str(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"setting {name}: {exc}", details={"fields": {name: str(exc)}}) from exc
