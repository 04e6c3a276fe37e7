"""Store policies (refund, shipping, privacy, terms, ...) as plain text, in the customer's language when the shop
publishes a translation (Shopify Translate & Adapt), cached for a few minutes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

from shopify_mcp.cache import TtlCache
from shopify_mcp.client import AdminClient
from shopify_mcp.errors import AccessDeniedError, InvalidInputError, NotFoundError
from shopify_mcp.languages import LanguageTag, language_of, language_tag, match_locale
from support_core.html_text import html_to_text
from support_core.store import Policies, Policy

logger = logging.getLogger(__name__)

POLICY_TYPES = (
    "REFUND_POLICY",
    "SHIPPING_POLICY",
    "PRIVACY_POLICY",
    "TERMS_OF_SERVICE",
    "TERMS_OF_SALE",
    "LEGAL_NOTICE",
    "SUBSCRIPTION_POLICY",
    "CONTACT_INFORMATION",
)
_ALIASES = {
    "refund": "REFUND_POLICY",
    "refunds": "REFUND_POLICY",
    "return": "REFUND_POLICY",
    "returns": "REFUND_POLICY",
    "shipping": "SHIPPING_POLICY",
    "delivery": "SHIPPING_POLICY",
    "privacy": "PRIVACY_POLICY",
    "terms": "TERMS_OF_SERVICE",
    "tos": "TERMS_OF_SERVICE",
    "sale": "TERMS_OF_SALE",
    "legal": "LEGAL_NOTICE",
    "subscription": "SUBSCRIPTION_POLICY",
    "contact": "CONTACT_INFORMATION",
}


def policy_type(value: str) -> str:
    """'refund', 'refund-policy', 'REFUND_POLICY' -> 'REFUND_POLICY'."""
    key = value.strip().upper().replace("-", "_").replace(" ", "_")
    if key in POLICY_TYPES:
        return key
    alias = _ALIASES.get(key.lower().removesuffix("_policy"))
    if alias is None:
        names = ", ".join(sorted(_ALIASES))
        raise InvalidInputError(f"Unknown policy {value!r}. Use one of: {names} (or a type such as REFUND_POLICY).")
    return alias


STANDARD_TITLES: dict[str, dict[str, str]] = {
    "en": {
        "REFUND_POLICY": "Refund policy",
        "SHIPPING_POLICY": "Shipping policy",
        "PRIVACY_POLICY": "Privacy policy",
        "TERMS_OF_SERVICE": "Terms of service",
        "TERMS_OF_SALE": "Terms of sale",
        "LEGAL_NOTICE": "Legal notice",
        "SUBSCRIPTION_POLICY": "Subscription policy",
        "CONTACT_INFORMATION": "Contact information",
    },
    "de": {
        "REFUND_POLICY": "Rückerstattungsrichtlinie",
        "SHIPPING_POLICY": "Versandrichtlinie",
        "PRIVACY_POLICY": "Datenschutzerklärung",
        "TERMS_OF_SERVICE": "Nutzungsbedingungen",
        "TERMS_OF_SALE": "Verkaufsbedingungen",
        "LEGAL_NOTICE": "Impressum",
        "SUBSCRIPTION_POLICY": "Abonnementrichtlinie",
        "CONTACT_INFORMATION": "Kontaktinformationen",
    },
    "es": {
        "REFUND_POLICY": "Política de reembolso",
        "SHIPPING_POLICY": "Política de envío",
        "PRIVACY_POLICY": "Política de privacidad",
        "TERMS_OF_SERVICE": "Términos del servicio",
        "TERMS_OF_SALE": "Condiciones de venta",
        "LEGAL_NOTICE": "Aviso legal",
        "SUBSCRIPTION_POLICY": "Política de suscripción",
        "CONTACT_INFORMATION": "Información de contacto",
    },
    "fr": {
        "REFUND_POLICY": "Politique de remboursement",
        "SHIPPING_POLICY": "Politique d'expédition",
        "PRIVACY_POLICY": "Politique de confidentialité",
        "TERMS_OF_SERVICE": "Conditions d'utilisation",
        "TERMS_OF_SALE": "Conditions de vente",
        "LEGAL_NOTICE": "Mentions légales",
        "SUBSCRIPTION_POLICY": "Politique d'abonnement",
        "CONTACT_INFORMATION": "Coordonnées",
    },
    "it": {
        "REFUND_POLICY": "Informativa sui rimborsi",
        "SHIPPING_POLICY": "Informativa sulle spedizioni",
        "PRIVACY_POLICY": "Informativa sulla privacy",
        "TERMS_OF_SERVICE": "Termini di servizio",
        "TERMS_OF_SALE": "Condizioni di vendita",
        "LEGAL_NOTICE": "Note legali",
        "SUBSCRIPTION_POLICY": "Informativa sugli abbonamenti",
        "CONTACT_INFORMATION": "Informazioni di contatto",
    },
    "pt": {
        "REFUND_POLICY": "Política de reembolso",
        "SHIPPING_POLICY": "Política de envio",
        "PRIVACY_POLICY": "Política de privacidade",
        "TERMS_OF_SERVICE": "Termos de serviço",
        "TERMS_OF_SALE": "Condições de venda",
        "LEGAL_NOTICE": "Aviso legal",
        "SUBSCRIPTION_POLICY": "Política de subscrição",
        "CONTACT_INFORMATION": "Informações de contacto",
    },
}
"""Shopify names policies itself (merchants cannot rename them) and translates only their `body`; these are the
names of a translated policy, per language, when the translation carries no `title` of its own."""

PolicyTexts = dict[str, dict[str, str]]
"""Policy type -> translated field (`body`, `title`) -> value, for one locale."""


@dataclass(frozen=True, slots=True)
class ShopLocales:
    primary: str | None
    published: tuple[str, ...]


class PolicyLookup:
    """`get_policies`: the shop's policies (one query), and per language the shop's published locales (one query)
    and the translations into the matching locale (one query per locale), each cached for `cache_ttl` seconds."""

    def __init__(self, client: AdminClient, *, cache_ttl: float) -> None:
        self._client = client
        self._cache: TtlCache[Policies] = TtlCache(cache_ttl)
        self._locales: TtlCache[ShopLocales | None] = TtlCache(cache_ttl)
        self._translations: TtlCache[PolicyTexts] = TtlCache(cache_ttl)

    async def all(self) -> Policies:
        return await self._cache.get("policies", self._fetch)

    async def get(self, kind: str | None = None, language: str | None = None) -> Policies:
        """The policies (one `kind`, or all), in `language` where the shop publishes an up-to-date translation."""
        tag = language_tag(language) if language is not None else None
        wanted = policy_type(kind) if kind else None
        policies = await self.all()
        if wanted is not None:
            chosen = [p for p in policies.policies if p.type == wanted]
            if not chosen:
                raise NotFoundError(f"The store has not published a {wanted.replace('_', ' ').lower()}.")
            policies = Policies(shop_name=policies.shop_name, policies=chosen)
        return policies if tag is None else await self._in_language(policies, tag)

    async def _in_language(self, policies: Policies, tag: LanguageTag) -> Policies:
        locales = await self._locales.get("locales", self._fetch_locales)
        primary = language_of(locales.primary) if locales and locales.primary else None
        # Without `read_locales` the published locales are unknown: ask for the customer's locale all the same.
        locale = match_locale(tag, locales.published) if locales else tag.locale
        texts: PolicyTexts = {}
        if locale is not None and not (locales and locale == locales.primary):
            texts = await self._translations.get(locale, partial(self._fetch_translations, locale))
        shown = [self._translated(p, texts.get(p.type), tag.language, primary) for p in policies.policies]
        return policies.model_copy(
            update={"policies": shown, "requested_language": tag.language, "primary_language": primary}
        )

    @staticmethod
    def _translated(policy: Policy, fields: dict[str, str] | None, language: str, primary: str | None) -> Policy:
        body = (fields or {}).get("body", "").strip()
        if not body:
            return policy.model_copy(update={"language": primary, "translated": False})
        title = (fields or {}).get("title") or STANDARD_TITLES.get(language, {}).get(policy.type) or policy.title
        text = html_to_text(body)
        return policy.model_copy(update={"title": title, "text": text, "language": language, "translated": True})

    async def _fetch(self) -> Policies:
        shop = (await self._client.execute("ShopPolicies"))["shop"]
        return Policies(
            shop_name=shop["name"],
            policies=[
                Policy(type=p["type"], title=p["title"], url=p["url"], text=html_to_text(p["body"]))
                for p in shop["shopPolicies"]
                if p.get("body")
            ],
        )

    async def _fetch_locales(self) -> ShopLocales | None:
        try:
            data = await self._client.execute("ShopLocales")
        except AccessDeniedError as exc:
            logger.warning("Policies in the customer's language: the shop's languages are unknown. %s", exc)
            return None
        found = data["shopLocales"]
        primary = next((entry["locale"] for entry in found if entry["primary"]), None)
        return ShopLocales(primary=primary, published=tuple(entry["locale"] for entry in found))

    async def _fetch_translations(self, locale: str) -> PolicyTexts:
        """Up-to-date translations only: an outdated one may state terms the shop has since changed."""
        try:
            data = await self._client.execute("ShopPolicyTranslations", {"locale": locale})
        except AccessDeniedError as exc:
            logger.warning("Policies in the customer's language: translations cannot be read. %s", exc)
            return {}
        texts: PolicyTexts = {}
        for policy in data["shop"]["shopPolicies"]:
            fields = {t["key"]: t["value"] for t in policy["translations"] if t.get("value") and not t["outdated"]}
            if fields:
                texts[policy["type"]] = fields
        return texts
