"""Languages (issue 12): complete catalogs, no unwrapped UI string, the language of each request and export."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from dashboard.app import create_app
from dashboard.i18n import COOKIE
from dashboard.settings import load_app_settings
from data import preferences, users
from data.store import Store
from layers.i18n import (
    LANGUAGES,
    LOCALE_DIR,
    _,
    fill,
    format_time,
    ngettext,
    normalise_language,
    po_path,
    text_direction,
    use_language,
    value_label,
)
from tests.helpers import sample_events, sample_features

ROOT = Path(__file__).resolve().parents[1]
TRANSLATED = [code for code in LANGUAGES if code != "en"]
PLACEHOLDER = re.compile(r"\{(\w*)[^{}]*\}")
# Modules that build what a user sees: every literal shown there must go through _() or N_().
UI_MODULES = [
    "dashboard/layout.py",
    "dashboard/callbacks.py",
    "dashboard/auth.py",
    "dashboard/i18n.py",
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "dashboard" / "panels").glob("*.py")),
    "layers/styles.py",
    "layers/services/exports/render.py",
    "layers/services/exports/html.py",
]
SHOWN_KEYWORDS = {"title", "placeholder", "label", "children", "aria-label", "name"}
HTML_FACTORIES = {"html", "dcc", "dhtml", "dash_table"}


def _template() -> Any:
    with (LOCALE_DIR / "hbm.pot").open("rb") as handle:
        return read_po(handle)


def _catalog(language: str) -> Any:
    with po_path(language).open("rb") as handle:
        return read_po(handle, locale=language)


def _key(message: Any) -> str:
    return message.id[0] if isinstance(message.id, tuple) else message.id


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_msgid_has_a_complete_translation(language: str) -> None:
    template = {_key(m): m for m in _template() if m.id}
    catalog = {_key(m): m for m in _catalog(language) if m.id}
    assert len(template) > 250
    assert set(template) <= set(catalog), f"{language}: not merged: {sorted(set(template) - set(catalog))[:10]}"
    problems = []
    for key in template:
        message = catalog[key]
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(forms):
            problems.append(f"untranslated: {key!r}")
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = set().union(*(_placeholders(i) for i in ids))
        for form in forms:
            if not _placeholders(form) <= wanted:
                problems.append(f"{key!r}: {form!r} has placeholders the code does not fill")
            if len(ids) == 1 and _placeholders(form) != wanted:
                problems.append(f"{key!r}: {form!r} drops or adds a placeholder")
    assert not problems, f"{language}: " + "; ".join(problems[:10])


def test_template_is_what_the_code_marks() -> None:
    """Extraction of the code today gives exactly hbm.pot's msgids (run layers/locale/update.sh when it fails)."""
    method_map = [(f"{d}/**.py", "python") for d in ("dashboard", "layers", "data")]
    keywords = {"_": None, "N_": None, "ngettext": (1, 2), "gettext": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=keywords
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    template = {_key(m) for m in _template() if m.id}
    assert found - template == set(), f"marked in the code, missing from hbm.pot: {sorted(found - template)[:10]}"
    assert template - found == set(), f"in hbm.pot, no longer in the code: {sorted(template - found)[:10]}"


def _is_text(node: ast.AST) -> bool:
    """Return True for a string literal (or f-string) holding words a user would read."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(re.search(r"[A-Za-z]{3,}", node.value)) and not re.fullmatch(r"[\w.:/#-]*", node.value)
    if isinstance(node, ast.JoinedStr):
        literal = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
        return len(re.findall(r"[A-Za-z]{2,}", literal)) >= 2  # words, not just an id or unit around a value
    return False


def _unwrapped(path: Path) -> list[str]:
    """Return the literals passed as shown text (a component's children/label/title…) without _() or N_()."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        owner = func.value if isinstance(func, ast.Attribute) else None
        factory = isinstance(owner, ast.Name) and owner.id in HTML_FACTORIES
        shown: list[ast.AST] = []
        if factory and node.args:
            first = node.args[0]
            shown += first.elts if isinstance(first, ast.List) else [first]
        shown += [kw.value for kw in node.keywords if kw.arg in SHOWN_KEYWORDS]
        for value in shown:
            if isinstance(value, ast.Dict):  # {"label": …} options
                shown += [
                    v
                    for k, v in zip(value.keys, value.values, strict=True)
                    if isinstance(k, ast.Constant) and k.value in SHOWN_KEYWORDS
                ]
                continue
            if _is_text(value):
                found.append(f"{path.relative_to(ROOT)}:{value.lineno}: {ast.unparse(value)[:60]}")
    return found


def test_ui_modules_have_no_unwrapped_user_visible_string() -> None:
    problems = [line for module in UI_MODULES for line in _unwrapped(ROOT / module)]
    assert not problems, "wrap these in _() or N_():\n" + "\n".join(problems)


def test_the_unwrapped_string_check_catches_one(tmp_path: Path) -> None:
    """The check above is not vacuous: a bare label and an f-string title are reported, a wrapped one is not."""
    module = ROOT / "tests" / "_i18n_probe.py"
    module.write_text(
        "from dash import html\n"
        'a = html.Button("Save plan")\n'
        'b = html.Div(title=f"Opened {x} by someone")\n'
        'c = html.Button(_("Save plan"))\n'
        'd = html.Div(className="hbm-side")\n',
        encoding="utf-8",
    )
    try:
        found = _unwrapped(module)
    finally:
        module.unlink()
    assert [line.split(":")[1] for line in found] == ["2", "3"]


@pytest.mark.parametrize(
    ("raw", "code"), [("fr", "fr"), ("fr-CA", "fr"), ("ar_EG", "ar"), ("EN", "en"), ("de", None), ("", None)]
)
def test_normalise_language(raw: str, code: str | None) -> None:
    assert normalise_language(raw) == code


def test_translation_follows_the_language_in_force() -> None:
    with use_language("fr"):
        assert _("Legend") == "Légende"
        assert value_label("in_progress") == "en cours"
        assert ngettext("⚠ {n} new alert: {title}", "⚠ {n} new alerts: {title}", 3).startswith("⚠ {n} nouvelles")
        assert text_direction() == "ltr"
    with use_language("ar"):
        assert _("Legend") == "مفتاح الخريطة"
        assert text_direction() == "rtl"
    with use_language("en"):
        assert _("Legend") == "Legend" and value_label("in_progress") == "in progress"


def test_fill_keeps_components_where_the_translation_puts_them() -> None:
    bold = object()
    assert fill("Data as of {as_of} now", as_of=bold) == ["Data as of ", bold, " now"]
    assert fill("{a}{b}", a=1) == [1, "{b}"]


def test_format_time_uses_the_language_month_names() -> None:
    from datetime import UTC, datetime

    t = datetime(2026, 11, 26, 21, 55, tzinfo=UTC)
    with use_language("fr"):
        assert format_time(t) == "26 nov. 21:55 UTC"
    with use_language("en"):
        assert format_time(t) == "26 Nov 21:55 UTC"


# -- the web app: each request's language ----------------------------------------------------------
def _app(store: Store, **overrides: Any) -> Any:
    settings = load_app_settings(synthetic=True, **overrides)
    return create_app(settings, store)


def _page(client: Any) -> str:
    response = client.get("/", headers={"Accept": "text/html"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _layout(client: Any) -> str:
    response = client.get("/_dash-layout")
    assert response.status_code == 200
    return json.dumps(response.get_json(), ensure_ascii=False)


def test_default_language_is_hbm_language(sqlite_store: Store) -> None:
    client = _app(sqlite_store, auth=False, language="fr").server.test_client()
    assert '<html lang="fr" dir="ltr">' in _page(client)
    layout = _layout(client)
    assert "Légende" in layout and "Points de passage" in layout and "SYNTHÉTIQUES" in layout
    assert '"Legend"' not in layout
    english = _app(sqlite_store, auth=False).server.test_client()  # another app in the same process: English
    assert '<html lang="en" dir="ltr">' in _page(english) and "Légende" not in _layout(english)


def test_selector_sets_a_cookie_and_the_page_turns_rtl(sqlite_store: Store) -> None:
    client = _app(sqlite_store, auth=False).server.test_client()
    response = client.get("/language/ar?next=/%3Fwall%3D1")
    assert response.status_code == 303 and response.headers["Location"].endswith("/?wall=1")
    assert f"{COOKIE}=ar" in response.headers["Set-Cookie"]
    assert '<html lang="ar" dir="rtl">' in _page(client)
    assert "مفتاح الخريطة" in _layout(client)
    assert client.get("/language/xx").status_code == 404
    away = client.get("/language/fr?next=//evil.example/x")
    assert away.status_code == 303 and away.headers["Location"] in ("/", "http://localhost/")


def test_invalid_hbm_language_is_a_clear_error() -> None:
    from geo.errors import ConfigError

    with pytest.raises(ConfigError, match="HBM_LANGUAGE 'de' is not supported; use one of en, fr, ar"):
        load_app_settings(language="de")


def _sign_in(client: Any, name: str, password: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = client.post("/login", data={"csrf": csrf, "name": name, "password": password, "next": "/"})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]


def test_a_signed_in_users_choice_is_saved_in_the_store(
    store: Store, fast_hashing: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HBM_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("HBM_COOKIE_SECURE", "false")
    users.add_user(store, "amina", "analyst", "correct horse battery")
    app = _app(store, auth=True)
    first = app.server.test_client()
    _sign_in(first, "amina", "correct horse battery")
    assert first.get("/language/fr").status_code == 303
    assert preferences.get_language(store, "amina") == "fr"
    other = app.server.test_client()  # another browser: no language cookie, the store remembers
    assert '<html lang="en"' in client_page_anonymous(other)
    _sign_in(other, "amina", "correct horse battery")
    other.delete_cookie(COOKIE)
    assert '<html lang="fr" dir="ltr">' in _page(other)
    assert "Se déconnecter" in _layout(other)


def client_page_anonymous(client: Any) -> str:
    """Return the sign-in page a browser without a session gets."""
    return client.get("/login").get_data(as_text=True)


def test_login_page_in_french_with_language_links(sqlite_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HBM_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("HBM_COOKIE_SECURE", "false")
    client = _app(sqlite_store, auth=True, language="fr").server.test_client()
    page = client.get("/login?next=/%3Fwall%3D1").get_data(as_text=True)
    assert '<html lang="fr" dir="ltr">' in page
    for text in ("Se connecter", "Nom", "Mot de passe", "Carte des opérations GHF"):
        assert text in page
    assert "Sign in" not in page and "Password" not in page
    link = re.search(r'href="(/language/ar\?[^"]+)"', page).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    response = client.get(link)  # open without a session: the sign-in page chooses too
    assert response.status_code == 303 and "/login?next=/%3Fwall%3D1" in response.headers["Location"]
    assert b"crossing" not in response.data and b"hbm-auth-user" not in response.data  # open, but shows nothing
    arabic = client.get("/login").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in arabic and "تسجيل الدخول" in arabic


# -- exports ----------------------------------------------------------------------------------------
@pytest.fixture
def export_store(sqlite_store: Store) -> Store:
    for table, rows in sample_features().items():
        sqlite_store.upsert(table, rows)
    sqlite_store.upsert("events", sample_events(200))
    return sqlite_store


def _export(store: Store, fmt: str, path: Path, language: str) -> Path:
    from datetime import timedelta

    from layers.services.exports import run_export
    from layers.services.exports.settings import load_export_settings
    from layers.view import View
    from tests.helpers import NOW

    view = View(start=NOW - timedelta(days=7), end=NOW, zoom=7, bbox=None, window_label="7d")
    with use_language(language):
        run_export(
            store,
            view,
            fmt,
            path,
            who="test",
            settings=load_export_settings(),
            title="HBM Operations Map",
            synthetic=True,
        )
    return path


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_pdf_export_in_french(export_store: Store, tmp_path: Path) -> None:
    pdf = _export(export_store, "pdf", tmp_path / "fr.pdf", "fr")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for french in (
        "Carte des opérations GHF",
        "Légende (couches affichées)",
        "Filtres",
        "Points de passage",
        "SYNTHÉTIQUES",
        "Fenêtre",
    ):
        assert french in text
    for english in ("Legend (layers shown)", "Crossing points", "Window:", "All data shown"):
        assert english not in text


def test_html_export_in_arabic_is_rtl(export_store: Store, tmp_path: Path) -> None:
    page = _export(export_store, "html", tmp_path / "ar.html", "ar").read_text(encoding="utf-8")
    assert '<html lang="ar" dir="rtl">' in page
    assert "مفتاح الخريطة" in page and "نقاط العبور" in page
    assert ">Legend<" not in page


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_sar_sheets_in_french(sqlite_store: Store, tmp_path: Path) -> None:
    from data.sar_edits import update_sector
    from data.sar_plans import create_plan, load_plan, plan_sectors
    from geo.sectors import circle_area
    from layers.services.exports.sar_sheets import write_sheets

    area = circle_area(1.4, 30.7, 6)
    sectors, poas = plan_sectors(area, "grid", 30)
    plan_id = create_plan(sqlite_store, area, sectors, poas, name="Bateau", method="grid", target_km2=30)
    first = load_plan(sqlite_store, plan_id).sectors.iloc[0]["id"]
    plan = update_sector(sqlite_store, plan_id, 1, first, status="in_progress", track_spacing_m=600)
    with use_language("fr"):
        write_sheets(plan, tmp_path / "fr.pdf", synthetic=True)
    text = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(tmp_path / "fr.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    page = " ".join(text.split())
    for french in ("Mission SAR — secteur AA", "Espacement des traces", "en cours", "DONNÉES DE DÉMO SYNTHÉTIQUES"):
        assert french in page, french
    assert "Track spacing" not in page and "SAR assignment" not in page


def test_alert_titles_are_rebuilt_in_the_language_and_withhold_small_counts() -> None:
    from datetime import UTC, datetime

    from data.alerts import Alert
    from layers.services.alerts import alert_title

    now = datetime(2026, 11, 26, tzinfo=UTC)
    evidence = {"zone": "Sector AA", "plan": "Lake Albert", "place": "near Elegu (4 km)", "events": 2, "people": 3}
    alert = Alert(
        "a1",
        "distress-in-sar",
        "sar:z",
        "open",
        "critical",
        "Distress: 2 events in …",
        1.0,
        31.0,
        evidence,
        [],
        now,
        now,
        now,
    )
    with use_language("fr"):
        assert alert_title(alert) == "Détresse : 2 événements dans Sector AA de « Lake Albert », près de Elegu (4 km)"
        assert alert_title(alert, small_k=5) == (
            "Détresse : moins de 5 événements dans Sector AA de « Lake Albert », près de Elegu (4 km)"
        )
    with use_language("en"):
        assert alert_title(alert, small_k=5).startswith("Distress: under 5 events in Sector AA")
