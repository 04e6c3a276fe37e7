"""The offline router on the labelled evaluation set: accuracy per category and language, order numbers, handovers."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from evaluation.dataset import HANDOVERS, LANGUAGES, LabelledMessage, customer_messages
from orchestrator.config import load_config
from orchestrator.models import CATEGORIES, RouterDecision
from orchestrator.offline_router import route_offline

SHORT_NAMES = {
    "OrderPlacementStatus": "Order",
    "ShippingDelivery": "Ship",
    "ReturnsCancellationsExchanges": "Return",
    "PaymentBilling": "Pay",
    "ProductInfoAvailability": "Product",
    "TechnicalIssues": "Tech",
    "PromotionsDiscountsPricing": "Promo",
    "CustomerComplaintsSatisfaction": "Complaint",
    "AccountProfileOther": "Account",
}


@dataclass(frozen=True)
class Outcome:
    """One labelled message and what the router made of it."""

    message: LabelledMessage
    decision: RouterDecision
    seconds: float

    @property
    def category_ok(self) -> bool:
        return self.decision.category == self.message.category

    @property
    def language_ok(self) -> bool:
        return self.decision.language == self.message.language

    @property
    def order_ok(self) -> bool:
        """The router reports one number: the first one the text mentions (subject, then body), or none."""
        expected = f"#{self.message.order_numbers[0]}" if self.message.order_numbers else None
        return self.decision.order_number == expected


@dataclass
class RouterScores:
    """Everything the report shows, computed once (tests read the same numbers)."""

    outcomes: list[Outcome]
    min_confidence: float
    timings_ms: list[float] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @staticmethod
    def _share(flags: Iterable[bool]) -> float:
        values = list(flags)
        return sum(values) / len(values) if values else 0.0

    def category_accuracy(self, *, language: str | None = None, category: str | None = None) -> float:
        return self._share(o.category_ok for o in self._select(language, category))

    def language_accuracy(self, *, language: str | None = None) -> float:
        return self._share(o.language_ok for o in self._select(language, None))

    def order_accuracy(self) -> float:
        return self._share(o.order_ok for o in self.outcomes)

    def _select(self, language: str | None, category: str | None) -> list[Outcome]:
        return [
            o
            for o in self.outcomes
            if (language is None or o.message.language == language)
            and (category is None or o.message.category == category)
        ]

    def handover_counts(self, reason: str | None = None) -> tuple[int, int, int]:
        """(true positives, false positives, false negatives) over (message, reason) pairs, or one reason."""
        tp = fp = fn = 0
        for outcome in self.outcomes:
            reasons = [reason] if reason else sorted(HANDOVERS)
            for name in reasons:
                expected, found = name in outcome.message.handover, name in outcome.decision.handover
                tp += expected and found
                fp += found and not expected
                fn += expected and not found
        return tp, fp, fn

    def holds(self, outcome: Outcome) -> bool:
        """Would the pipeline send the holding reply (a person takes over) instead of a filled-in answer?"""
        return bool(outcome.decision.handover) or outcome.decision.confidence < self.min_confidence

    def holding_share(self, *, expected_handover: bool | None = None) -> float:
        chosen = [
            o for o in self.outcomes if expected_handover is None or bool(o.message.handover) == expected_handover
        ]
        return self._share(self.holds(o) for o in chosen)

    def confusion(self) -> Counter[tuple[str, str]]:
        return Counter((o.message.category, o.decision.category) for o in self.outcomes)

    def ms_per_message(self) -> float:
        return sum(self.timings_ms) / len(self.timings_ms) if self.timings_ms else 0.0

    def percentile_ms(self, share: float) -> float:
        ordered = sorted(self.timings_ms)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def evaluate(messages: Sequence[LabelledMessage] | None = None, *, rounds: int = 3) -> RouterScores:
    """Route every labelled message; timings are the best of `rounds` runs of each (after one warm-up)."""
    chosen = list(customer_messages() if messages is None else messages)
    config = load_config()
    min_confidence, languages = config.engine.min_confidence, config.shop.languages
    if chosen:
        route_offline(chosen[0].subject, chosen[0].body)  # loads lazily built models outside the timings
    outcomes, timings = [], []
    for message in chosen:
        best = float("inf")
        decision = None
        for _ in range(max(1, rounds)):
            started = time.perf_counter()
            decision = route_offline(message.subject, message.body, languages=languages)
            best = min(best, time.perf_counter() - started)
        assert decision is not None
        outcomes.append(Outcome(message, decision, best))
        timings.append(best * 1000)
    return RouterScores(outcomes, min_confidence, timings)


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _ratio(part: int, whole: int) -> str:
    return f"{_pct(part / whole)} ({part}/{whole})" if whole else "n/a"


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def render(scores: RouterScores) -> str:
    """The markdown report of one evaluation."""
    outcomes = scores.outcomes
    count = scores.total
    lines = [
        "## Offline router",
        "",
        f"{count} labelled customer messages in {len(LANGUAGES)} languages (`evaluation/data/customers_*.toml`), "
        "routed by `orchestrator.offline_router.route_offline`.",
        "",
    ]
    tp, fp, fn = scores.handover_counts()
    numbered = [o.order_ok for o in outcomes if o.message.order_numbers]
    unnumbered = [o.order_ok for o in outcomes if not o.message.order_numbers]
    holding = sum(scores.holds(o) for o in outcomes)
    lines += _table(
        ["measure", "value"],
        [
            ["category accuracy", _ratio(sum(o.category_ok for o in outcomes), count)],
            ["language accuracy", _ratio(sum(o.language_ok for o in outcomes), count)],
            ["order number exact match", _ratio(sum(o.order_ok for o in outcomes), count)],
            ["... messages with a number", _ratio(sum(numbered), len(numbered))],
            ["... messages without one (none invented)", _ratio(sum(unnumbered), len(unnumbered))],
            ["handover precision", _ratio(tp, tp + fp)],
            ["handover recall", _ratio(tp, tp + fn)],
            [f"holding replies (handover, or confidence < {scores.min_confidence})", _ratio(holding, count)],
            ["... among messages with no handover label", _pct(scores.holding_share(expected_handover=False))],
            ["ms per message (mean, p95)", f"{scores.ms_per_message():.2f}, {scores.percentile_ms(0.95):.2f}"],
        ],
    )

    lines += ["", "### Per language", ""]
    rows = []
    for language in LANGUAGES:
        chosen = [o for o in outcomes if o.message.language == language]
        rows.append(
            [
                language,
                len(chosen),
                _pct(scores.category_accuracy(language=language)),
                _pct(scores.language_accuracy(language=language)),
                _pct(scores._share(o.order_ok for o in chosen)),
                _pct(scores._share(scores.holds(o) for o in chosen)),
            ]
        )
    lines += _table(["language", "messages", "category", "language", "order number", "holding"], rows)

    lines += ["", "### Per category", ""]
    predicted = Counter(str(o.decision.category) for o in outcomes)
    rows = []
    for category in CATEGORIES:
        chosen = [o for o in outcomes if o.message.category == category]
        right = sum(o.category_ok for o in chosen)
        rows.append(
            [
                category,
                len(chosen),
                _pct(right / len(chosen)) if chosen else "n/a",
                _pct(right / predicted[category]) if predicted[category] else "n/a",
                f"{_mean_confidence(chosen):.2f}",
            ]
        )
    lines += _table(["category", "messages", "recall (accuracy)", "precision", "mean confidence"], rows)

    lines += ["", "### Handover triggers", ""]
    rows = []
    for reason in sorted(HANDOVERS):
        r_tp, r_fp, r_fn = scores.handover_counts(reason)
        rows.append([reason, r_tp + r_fn, _ratio(r_tp, r_tp + r_fp), _ratio(r_tp, r_tp + r_fn)])
    lines += _table(["trigger", "labelled", "precision", "recall"], rows)

    lines += ["", "### Confusion matrix (rows: label, columns: router)", ""]
    confusion = scores.confusion()
    header = ["label \\ router", *(SHORT_NAMES[c] for c in CATEGORIES)]
    rows = [[SHORT_NAMES[a], *(confusion[(a, b)] or "·" for b in CATEGORIES)] for a in CATEGORIES]
    lines += _table(header, rows)

    misses = [o for o in outcomes if not (o.category_ok and o.language_ok and o.order_ok)]
    if misses:
        lines += ["", "### Misses", ""]
        rows = []
        for o in misses:
            got = []
            if not o.category_ok:
                got.append(f"{SHORT_NAMES[o.message.category]} → {SHORT_NAMES[o.decision.category]}")
            if not o.language_ok:
                got.append(f"language {o.message.language} → {o.decision.language}")
            if not o.order_ok:
                got.append(f"order {list(o.message.order_numbers)} → {o.decision.order_number}")
            rows.append([f"`{o.message.id}`", "; ".join(got), f"{o.decision.confidence:.2f}"])
        lines += _table(["message", "wrong", "confidence"], rows)
    return "\n".join(lines)


def _mean_confidence(outcomes: Sequence[Outcome]) -> float:
    return sum(o.decision.confidence for o in outcomes) / len(outcomes) if outcomes else 0.0


def report() -> str:
    """The router section of `python -m evaluation`."""
    return render(evaluate())
