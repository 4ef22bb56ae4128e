"""Secrets and limits of sign-in, and the checks ``hbm serve`` runs before it starts."""

from __future__ import annotations

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from data import users
from data.settings import config_error, env_names
from data.store import Store
from geo.errors import ConfigError, StoreUnavailable

SECRET_HINT = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'
NO_USERS = "no users yet: add one with `hbm users add NAME --role admin`"


class AuthSettings(BaseSettings):
    """Secrets and limits of sign-in (``HBM_AUTH_*``), from the environment or ``.env`` (never from the repo)."""

    model_config = SettingsConfigDict(env_prefix="HBM_AUTH_", env_file=".env", extra="ignore", populate_by_name=True)

    secret_key: SecretStr | None = Field(
        None,
        validation_alias=env_names("HBM_AUTH_SECRET_KEY", "HBM_SECRET_KEY"),
        description="Signs the session cookies; required with sign-in on. At least 32 random characters, e.g. "
        f"the output of {SECRET_HINT}.",
    )
    auth_proxy_header: str | None = Field(
        None,
        validation_alias=env_names("HBM_AUTH_PROXY_HEADER"),
        description="Single sign-on: trust this header (e.g. X-Remote-User) set by the reverse proxy in front as "
        "the signed-in user's name. Listen on 127.0.0.1 behind that proxy.",
    )
    session_hours: float = Field(
        12.0,
        gt=0,
        le=24 * 30,
        validation_alias=env_names("HBM_AUTH_SESSION_HOURS", "HBM_SESSION_HOURS"),
        description="Hours a session lasts after sign-in.",
    )
    cookie_secure: bool = Field(
        True,
        validation_alias=env_names("HBM_AUTH_COOKIE_SECURE", "HBM_COOKIE_SECURE"),
        description="Session cookies only over HTTPS; false only for tests and local plain-http use.",
    )
    auth_recheck_seconds: float = Field(
        0.0,
        ge=0,
        le=3600,
        validation_alias=env_names("HBM_AUTH_RECHECK_SECONDS"),
        description="Seconds a worker may reuse the user row behind a session; 0: re-read on every request, so "
        "every worker and node sees a log-out or a disabled user at once.",
    )
    login_max_failures: int = Field(
        5,
        ge=1,
        le=1000,
        validation_alias=env_names("HBM_AUTH_LOGIN_MAX_FAILURES", "HBM_LOGIN_MAX_FAILURES"),
        description="Failed sign-ins per user name within the window before that name is refused (429).",
    )
    login_max_failures_per_ip: int = Field(
        20,
        ge=1,
        le=100_000,
        validation_alias=env_names("HBM_AUTH_LOGIN_MAX_FAILURES_PER_IP", "HBM_LOGIN_MAX_FAILURES_PER_IP"),
        description="Failed sign-ins per client IP within the window before that IP is refused (429).",
    )
    login_window_seconds: int = Field(
        300,
        ge=10,
        le=86_400,
        validation_alias=env_names("HBM_AUTH_LOGIN_WINDOW_SECONDS", "HBM_LOGIN_WINDOW_SECONDS"),
        description="The sliding window, in seconds, the failed sign-ins are counted in.",
    )
    trusted_proxies: int = Field(
        0,
        ge=0,
        le=5,
        validation_alias=env_names("HBM_AUTH_TRUSTED_PROXIES", "HBM_TRUSTED_PROXIES"),
        description="Reverse proxies in front whose X-Forwarded-For/-Proto/-Host are trusted (client IPs in the "
        "audit log and sign-in limits); 0: none.",
    )

    @field_validator("secret_key")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value() and len(value.get_secret_value()) < 16:
            raise ConfigError(
                f"HBM_AUTH_SECRET_KEY is too short: use at least 32 random characters, e.g. {SECRET_HINT}"
            )
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
        raise config_error(exc, "HBM_AUTH_") from None


def require_secret(auth: AuthSettings) -> str:
    """Return the session secret, or raise ConfigError saying how to set one."""
    if auth.secret_key is None:
        raise ConfigError(
            f"HBM_AUTH_SECRET_KEY is not set; authentication needs it: set it to the output of {SECRET_HINT}"
        )
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
        warnings.append(
            "HBM_AUTH_COOKIE_SECURE=false: session cookies travel over plain http (tests and local use only)"
        )
    try:
        enabled = users.count_users(store)
    except StoreUnavailable:
        return warnings  # cannot tell now; the map shows the outage banner and sign-in works once the store is back
    if enabled == 0:
        if users.count_users(store, enabled_only=False):
            raise ConfigError("no enabled users: `hbm users enable NAME` or `hbm users add NAME --role admin`")
        raise ConfigError(NO_USERS)
    return warnings
