"""Offline language detection for the six languages the offline engine answers in (stopword and diacritic scoring)."""

from __future__ import annotations

import re
from collections import Counter

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")

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
        cuándo sigo sabéis"""
    ),
    "en": _words(
        """the a an and or of to in on at for with without my your our their is are was were be been being have has
        had do does did not no yes it this that these those i you we they he she me us them can could would should
        will what where when why how hi hello thanks thank please still from by as but if so just any dear order
        regards there here get got"""
    ),
    "fr": _words(
        """le la les un une des de du au aux et ou que qui en est sont suis pour par avec sans mon ma mes ton ta tes
        son sa ses notre votre vos nous vous je tu il elle ils elles ce cette ces mais comme quand où quoi pourquoi
        très déjà encore bonjour merci pas ne plus oui non aussi jusqu depuis sur chez ai avez avons été commande
        pourriez pouvez serai cordialement bien"""
    ),
    "de": _words(
        """der die das den dem des ein eine einen einem einer und oder nicht ist sind bin war waren für mit ohne
        mein meine meinen ihr ihre ihren unser euer wir sie ich du er es auf aus bei nach von zu zum zur im am
        wann wo warum wie was noch schon bitte danke hallo guten tag habe hast hat haben kann können möchte
        würde gern gerne auch aber sehr bestellung leider grüße viele liebes wieder"""
    ),
    "pt": _words(
        """o a os as um uma uns umas de do da dos das ao à e ou que em no na nos nas é são está estão estou por
        para com sem meu minha meus minhas seu sua seus suas me se lhe nos mas como quando onde porque muito já
        ainda olá obrigado obrigada bom boa dia tenho tem foi não sim também até desde sobre encomenda vocês
        podem pode gostaria fiz continua"""
    ),
    "it": _words(
        """il lo la i gli le un uno una di del della dello dei degli delle al alla e o che in è sono sto per con
        senza mio mia miei mie tuo tua suo sua nostro vostro ma come quando dove perché molto già ancora ciao
        buongiorno grazie non sì anche fino da dal su ho hai ha abbiamo avete hanno stato ordine potete posso
        vorrei mi ti ci vi si"""
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
    **dict.fromkeys(("hello", "thanks", "regards", "cheers"), "en"),
    **dict.fromkeys(("bonjour", "merci", "cordialement", "bonsoir"), "fr"),
    **dict.fromkeys(("hallo", "danke", "grüße", "moin", "servus"), "de"),
    **dict.fromkeys(("olá", "obrigado", "obrigada", "cumprimentos"), "pt"),
    **dict.fromkeys(("ciao", "grazie", "buongiorno", "salve", "saluti"), "it"),
}

MIN_SCORE = 1.5
"""Below this much evidence the text is too short or too foreign to call."""


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


def language_scores(text: str) -> dict[str, float]:
    """Evidence per language: function words, diacritics and typical word endings."""
    lowered = text.lower()
    scores = dict.fromkeys(_STOPWORDS, 0.0)
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


def detect_language(text: str, default: str = "en") -> str:
    """The ISO 639-1 code (es, en, fr, de, pt, it) of `text`, or `default` when the evidence is thin or tied."""
    scores = language_scores(text)
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    (best, top), (_, runner_up) = ranked[0], ranked[1]
    if top < MIN_SCORE or top - runner_up < max(0.5, 0.1 * top):
        return default
    return best
