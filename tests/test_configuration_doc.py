"""docs/configuration.md is generated from the settings classes: every setting described, the file current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from dashboard import settings_doc
from dashboard.auth.settings import load_auth_settings
from dashboard.config import KEYS, Concern, Settings, concerns, load_settings
from dashboard.security import load_security_settings
from data.notify_settings import load_notify_settings
from data.settings import load_store_settings

ROOT = Path(__file__).resolve().parent.parent
CODE_DIRS = ("dashboard", "layers", "data", "geo")
NAME = re.compile(r"\bHBM_[A-Z0-9_]*[A-Z0-9]\b")
NOT_SETTINGS = {"HBM_STYLES"}  # a JavaScript variable in the offline HTML export


def test_every_setting_has_a_description() -> None:
    assert settings_doc.undocumented() == []


def test_the_check_fails_on_an_undocumented_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    class Loose(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="HBM_LOOSE_")
        described: int = Field(1, description="has one")
        bare: int = 2

    extended = (*concerns(), Concern("loose", "Loose", Loose, "a test"))
    monkeypatch.setattr(settings_doc, "concerns", lambda: extended)
    assert settings_doc.undocumented() == ["Loose.bare"]
    assert settings_doc.main(["--check"]) == 1


def test_configuration_doc_is_current() -> None:
    doc = ROOT / "docs" / "configuration.md"
    assert doc.read_text(encoding="utf-8") == settings_doc.render(), "run: python -m dashboard.settings_doc --write"
    assert settings_doc.main(["--check"]) == 0


def test_every_variable_the_code_names_is_in_the_doc() -> None:
    """A variable read outside a settings class (os.environ) or named in an error must be documented too."""
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`(HBM_[A-Z0-9_]+)`", text))
    named = {
        match
        for folder in CODE_DIRS
        for path in (ROOT / folder).rglob("*.py")
        for match in NAME.findall(path.read_text(encoding="utf-8"))
    }
    assert named - documented - NOT_SETTINGS == set()
    for name in ("HBM_SYNTHETIC", "HBM_INGEST_TEXT_LIMIT_NOTES", "HBM_DATABASE_URL", "HBM_NOTIFY_WORKER"):
        assert f"| `{name}` |" in text


def test_rows_carry_name_type_default_and_description() -> None:
    class Sample(BaseModel):
        port: int = Field(8050, ge=1, le=65535, description="the port")

    field = Sample.model_fields["port"]
    assert settings_doc.type_text(field) == "integer (≥ 1, ≤ 65535)"
    assert settings_doc.default_text(field) == "`8050`"
    rows = "\n".join(settings_doc.concern_rows(concerns()[0].model))
    assert "| `HBM_PORT` |  | integer (≥ 1, ≤ 65535) | `8050` | Port the web app listens on" in rows


def _timeout() -> int:
    return load_store_settings().connect_timeout_s


@pytest.mark.parametrize(
    ("old", "new", "value", "read"),
    [
        ("HBM_SECRET_KEY", "HBM_AUTH_SECRET_KEY", "s" * 32, lambda: load_auth_settings().secret_key.get_secret_value()),
        ("HBM_COOKIE_SECURE", "HBM_AUTH_COOKIE_SECURE", "false", lambda: load_auth_settings().cookie_secure),
        ("HBM_TRUSTED_PROXIES", "HBM_AUTH_TRUSTED_PROXIES", "2", lambda: load_auth_settings().trusted_proxies),
        ("HBM_HSTS", "HBM_SECURITY_HSTS", "600", lambda: load_security_settings().hsts),
        ("HBM_SMTP_HOST", "HBM_NOTIFY_SMTP_HOST", "mail.example", lambda: load_notify_settings().smtp_host),
        ("HBM_DASHBOARD_URL", "HBM_NOTIFY_DASHBOARD_URL", "https://x", lambda: load_notify_settings().dashboard_url),
        ("HBM_CONNECT_TIMEOUT_S", "HBM_DATABASE_CONNECT_TIMEOUT_S", "9", _timeout),
    ],
)
def test_older_names_still_work_and_the_new_name_wins(
    monkeypatch: pytest.MonkeyPatch, old: str, new: str, value: str, read: object
) -> None:
    monkeypatch.setenv(old, value)
    old_value = read()  # type: ignore[operator]
    assert str(old_value).lower() == value.lower()
    monkeypatch.setenv(new, "3" if value.isdigit() else value + "x" if value != "false" else "true")
    assert read() != old_value  # type: ignore[operator]


def test_settings_load_each_concern_once_and_take_given_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HBM_HOTSPOT_SUPPRESS_K", "7")
    settings = load_settings()
    assert settings.suppress_k == 7
    monkeypatch.setenv("HBM_HOTSPOT_SUPPRESS_K", "9")
    assert settings.suppress_k == 7  # read once, at first use
    given = Settings(app=settings.app)
    assert given.app is settings.app and given.suppress_k == 9
    assert [c.key for c in concerns()] == list(KEYS)
    with pytest.raises(TypeError, match="unknown settings concern"):
        Settings(nonsense=1)
