"""The restricted language model kept in the cache folder: written once, read back identical, rebuilt when damaged,
and never in the way when the folder cannot be written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from py3langid.langid import MODEL_FILE, LanguageIdentifier  # type: ignore[import-untyped]

from orchestrator.language_model import CACHE_ENV, cache_dir, load_identifier
from orchestrator.models import LANGUAGES

TEXTS = [
    "Hola, ¿dónde está mi pedido? Gracias",
    "Where is my order? Thanks",
    "Bonjour, où est ma commande ?",
    "Hallo, wo ist meine Bestellung?",
    "Olá, onde está a minha encomenda?",
    "Ciao, dov'è il mio ordine?",
    "ok",
    "#1021",
]


@pytest.fixture(scope="module")
def reference() -> LanguageIdentifier:
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def test_the_cache_folder_follows_the_setting_then_xdg_then_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, "/srv/cache")
    assert cache_dir() == Path("/srv/cache")
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", "/var/tmp/xdg")
    assert cache_dir() == Path("/var/tmp/xdg/support-agent")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", "/home/shop")
    assert cache_dir() == Path("/home/shop/.cache/support-agent")


def test_written_once_then_read_back_ranking_exactly_as_the_full_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reference: LanguageIdentifier
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    (tmp_path / "langid-0.3.0-de-en-es-fr-it-pt.npz.xz").write_bytes(b"an earlier version's copy")
    first = load_identifier(LANGUAGES)
    [written] = list(tmp_path.iterdir())  # the earlier version's copy is gone
    assert written.name.startswith("langid-") and written.name.endswith(".npz")
    stamp = written.stat().st_mtime_ns
    second = load_identifier(tuple(reversed(LANGUAGES)))  # the same languages in another order: the same file
    assert written.stat().st_mtime_ns == stamp and list(tmp_path.iterdir()) == [written], "read, not rewritten"
    for text in TEXTS:
        assert first.rank(text) == second.rank(text) == reference.rank(text), text


def test_a_damaged_cache_file_is_replaced_and_a_read_only_folder_only_costs_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reference: LanguageIdentifier
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    load_identifier(LANGUAGES)
    [written] = list(tmp_path.iterdir())
    written.write_bytes(written.read_bytes()[:1000])  # cut short, as a full disk or a killed writer would leave it
    repaired = load_identifier(LANGUAGES)
    assert repaired.rank(TEXTS[0]) == reference.rank(TEXTS[0])
    assert load_identifier(LANGUAGES).rank(TEXTS[2]) == reference.rank(TEXTS[2]), "the rewritten file reads back"

    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    monkeypatch.setenv(CACHE_ENV, str(locked / "inner"))
    if os.geteuid() == 0:  # root writes anywhere: a file where the folder should be blocks it just as well
        monkeypatch.setenv(CACHE_ENV, str(written))
    identifier = load_identifier(LANGUAGES)
    assert identifier.rank(TEXTS[1]) == reference.rank(TEXTS[1])
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".langid-")] == [], "no temporary left"
