"""Secrets and limits of sign-in, and the checks ``hbm serve`` runs before it starts."""

from __future__ import annotations

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from data import users
from data.settings import config_error
from data.store import Store
from geo.errors import ConfigError, StoreUnavailable

SECRET_HINT = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'
NO_USERS = "no users yet: add one with `hbm users add NAME --role admin`"


class AuthSettings(BaseSettings):
    """Secrets and limits of sign-in, from ``HBM_*`` environment variables or ``.env`` (never from the repo)."""

    model_config = SettingsConfigDict(env_prefix="HBM_", env_file=".env", extra="ignore")

    secret_key: SecretStr | None = None
    auth_proxy_header: str | None = None
    session_hours: float = Field(12.0, gt=0, le=24 * 30)
    cookie_secure: bool = True
    auth_recheck_seconds: float = Field(0.0, ge=0, le=3600)  # 0: every request, so every worker and node sees a change
    login_max_failures: int = Field(5, ge=1, le=1000)
    login_max_failures_per_ip: int = Field(20, ge=1, le=100_000)
    login_window_seconds: int = Field(300, ge=10, le=86_400)
    trusted_proxies: int = Field(0, ge=0, le=5)

    @field_validator("secret_key")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value() and len(value.get_secret_value()) < 16:
            raise ConfigError(f"HBM_SECRET_KEY is too short: use at least 32 random characters, e.g. {SECRET_HINT}")
        return value if value is not None and value.get_secret_value() else None

    @field_validator("auth_proxy_header")
    @classmethod
    def _header_name(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if value and not all(ch.isalnum() or ch == "-" for ch in value):
            raise ConfigError(f"HBM_AUTH_PROXY_HEADER {value!r} must be a header name such as X-Remote-User")
        return value or None


def load_auth_settings(**overrides: object) -> AuthSettings:
    """Return validated AuthSettings, raising ConfigError with a one-line message."""
    try:
        return AuthSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise config_error(exc) from None


def require_secret(auth: AuthSettings) -> str:
    """Return the session secret, or raise ConfigError saying how to set one."""
    if auth.secret_key is None:
        raise ConfigError(f"HBM_SECRET_KEY is not set; authentication needs it: set it to the output of {SECRET_HINT}")
    return auth.secret_key.get_secret_value()


def check_serve_ready(store: Store, auth: AuthSettings, host: str = "127.0.0.1") -> list[str]:
    """Return warnings about a risky set-up; raise ConfigError unless there is a secret and an enabled user."""
    require_secret(auth)
    warnings = []
    if auth.auth_proxy_header and host not in ("127.0.0.1", "localhost", "::1"):
        warnings.append(
            f"HBM_AUTH_PROXY_HEADER={auth.auth_proxy_header} trusts that header from anyone who reaches "
            f"{host}: listen on 127.0.0.1 behind the proxy that sets it"
        )
    if not auth.cookie_secure:
        warnings.append("HBM_COOKIE_SECURE=false: session cookies travel over plain http (tests and local use only)")
    try:
        enabled = users.count_users(store)
    except StoreUnavailable:
        return warnings  # cannot tell now; the map shows the outage banner and sign-in works once the store is back
    if enabled == 0:
        if users.count_users(store, enabled_only=False):
            raise ConfigError("no enabled users: `hbm users enable NAME` or `hbm users add NAME --role admin`")
        raise ConfigError(NO_USERS)
    return warnings
