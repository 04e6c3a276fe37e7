"""Gatekeeper: fast rule-based triage of one parsed message into PROCESS, IGNORE or INTERNAL_ALERT (no LLM)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cached_property, lru_cache

from publicsuffixlist import PublicSuffixList
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from orchestrator.identity import Identity, form_identity, mail_identity
from orchestrator.models import GateDecision, Verdict
from support_core.mail import Address, Message

__all__ = ["GatekeeperRules", "gatekeep", "lookalike_of"]

_BULK_PRECEDENCE = frozenset({"bulk", "list", "junk", "auto_reply"})
_BOUNCE_SENDERS = frozenset({"mailer-daemon", "postmaster"})
_PREFIX_END = frozenset("+-._0123456789")
_SEPARATORS = frozenset("+-._")
_HOMOGLYPHS = str.maketrans(
    "01345789"  # digits that pass for letters, then Cyrillic and Greek letters that look like Latin ones
    "аеорсухіјѕԁһԛԝвкмнтɡ"
    "αβεικνορτυχ",
    "oleastbgaeopcyxijsdhqwbkmhtgabeiknoptux",
)
_PHISHING_WORDS = frozenset({
    "secure", "security", "support", "help", "helpdesk", "service", "services", "account", "accounts", "verify",
    "verification", "login", "signin", "billing", "payment", "payments", "update", "alert", "alerts", "notice",
    "team", "merchant", "merchants", "center", "centre", "admin", "online", "care", "id", "auth", "resolution",
})  # fmt: skip
_UPSTREAM_LABELS = {"SPAM": "upstream:spam-folder", "TRASH": "upstream:trash"}
_SUBJECT_TAG = re.compile(r"^\s*(?:\*{2,}\s*spam\s*\*{2,}|[\[{(]\s*spam\s*\??\s*[\]})]|spam\s*\?\s*:)", re.IGNORECASE)
_GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-"
_CUSTOMER_EVIDENCE = re.compile(
    r"(?:#\s?\d{3,}|\border (?:no\.? |number |nr\.? |n[º°]\s?)?#?\d{3,}|\bmy (?:order|package|parcel|delivery|"
    r"refund|return|exchange|purchase|size)\b|\bi (?:ordered|bought|purchased|received|returned)\b|"
    r"\btracking (?:number|code)\b|"
    r"\bmi pedido\b|\bma commande\b|\bmeine bestellung\b|\bil mio ordine\b|\bo meu pedido\b|"
    # what shoppers ask before they buy
    r"\bdo you (?:ship|deliver)\b|\b(?:ship|shipping|deliver|delivery|send)(?: it| them)? to (?-i:[A-Z])[a-z]+\b|"
    r"\b(?:in|back in|out of) stock\b|\b(?:what|which) size\b|\bsize (?:guide|chart)\b|"
    r"\b(?:discount|promo|coupon) code\b|\b(?:can|could|may) i (?:order|buy|return|exchange|pay|cancel)\b|"
    r"\bi(?:'d|\u2019d| would) like to (?:order|buy|return|exchange|cancel)\b|\b(?:talla|taille|gr(?:ö|oe)(?:ß|ss)e|"
    r"taglia|tamanho)\b)",
    re.IGNORECASE,
)
_PITCH_HINTS_NEEDED = 2
_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(?:automatic reply|auto(?:matic)?[- ]?(?:reply|response)|out of (?:the )?office(?: reply| autoreply)?|"
    r"r[ée]ponse automatique|absence du bureau|automatische antwort|abwesenheitsnotiz|respuesta autom[áa]tica|"
    r"fuera de la oficina|risposta automatica|fuori sede|resposta autom[áa]tica|automatisch antwoord|"
    r"autosvar|automaattinen vastaus|automatyczna odpowied[źz])\s*:",
    re.IGNORECASE,
)
_SCAN_CHARS = 20_000  # a sales pitch shows itself early; this keeps huge mail fast
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_FIELD_LINE = re.compile(r"^\s*([^\W\d_][\w .-]{0,30}?)\s*:\s*(.*)$")
_FORM_LABELS = {
    "name": ("name", "full name", "your name", "nombre", "nom", "nome", "vorname und nachname"),
    "email": ("email", "e-mail", "email address", "your email", "correo", "correo electrónico", "courriel"),
    "message": ("message", "your message", "mensaje", "messaggio", "mensagem", "nachricht", "comment", "comments"),
    "other": ("phone", "phone number", "teléfono", "telefono", "country code", "order number", "subject"),
}
_REGEX_FIELDS = frozenset({
    "phishing_subject_patterns", "phishing_body_patterns", "b2b_body_patterns", "advertising_subject_patterns",
    "pitch_patterns", "pitch_hints", "creator_hints",
})  # fmt: skip
_FORM_FIELD = {label: kind for kind, labels in _FORM_LABELS.items() for label in labels}


# fmt: off
_REPORT_TYPES = frozenset({
    "multipart/report", "message/delivery-status", "message/global-delivery-status", "message/disposition-notification",
})
SYSTEM_DOMAINS = (
    "facebookmail.com", "mail.instagram.com", "accounts.google.com", "amazonses.com", "sendgrid.net",
    "mailgun.org", "mcsv.net", "mcdlv.net", "rsgsv.net", "sparkpostmail.com", "shopifyemail.com",
)
AUTOMATED_LOCAL_PARTS = (
    "noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "do_not_reply", "mailer-daemon",
    "mailer", "postmaster", "bounce", "bounces", "notifications", "notification", "notify", "autoreply",
    "auto-reply", "auto-confirm", "newsletter", "ne-pas-repondre", "nepasrepondre", "no-responder", "noresponder",
    "nao-responder", "naoresponder", "nicht-antworten", "keine-antwort", "non-rispondere", "nonrispondere",
    "notificaciones", "notificacoes", "benachrichtigung", "notifiche",
)
FREE_MAIL_DOMAINS = (
    "gmail.com", "googlemail.com", "outlook.*", "hotmail.*", "live.*", "msn.com", "yahoo.*", "ymail.com",
    "aol.com", "icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com", "pm.me", "gmx.*", "web.de",
    "mail.com", "yandex.*", "mail.ru", "zoho.com", "libero.it", "orange.fr", "free.fr", "laposte.net",
    "t-online.de", "qq.com", "163.com",
)
SPAM_KEYWORDS = (
    "seo services", "seo package", "seo audit", "seo expert", "seo agency", "seo consultant",
    "seo ranking", "seo optimization", "seo optimisation", "backlinks", "link building", "guest post",
    "guest posting", "sponsored post", "web design", "website design", "website redesign",
    "web development", "app development", "rank your website", "lead generation", "domain authority",
    "crypto trading", "crypto investment", "forex trading", "investment opportunity",
)
ADVERTISING_SUBJECT_PATTERNS = (
    r"^(?:(?i:re|fwd?|aw|wg|tr|rv)\s*:\s*)*(?:ADV|ADV-ADLT)\s*[:\-\u2013]",
    r"^(?:(?i:re|fwd?|aw|wg|tr|rv)\s*:\s*)*[\[(\u3010\uff08]\s*(?i:adv|ad|pub|publi|publicidad|publicidade|"
    r"pubblicit[aà]|publicit[eé]|werbung|anzeige|reklama|reklame|reclame|annons|mainos|advertisement|advertising)"
    r"\s*[\])\u3011\uff09]",
    r"^(?:(?i:re|fwd?|aw|wg|tr|rv)\s*:\s*)*(?:PUBLICIDAD|PUBLI|PUBLICIDADE|PUBBLICIT[AÀ]|PUBLICIT[EÉ]|WERBUNG|ANZEIGE)\s*:",
    r"^\s*(?:[\[(\u3010\uff08]\s*(?:\uad11\uace0|\u5e7f\u544a|\u5ee3\u544a)\s*[\])\u3011\uff09]|\u672a\u627f\u8afe\u5e83\u544a)",
)
PITCH_PATTERNS = (
    # influencers, creators, UGC and affiliates
    r"\b(?:i(?:'d|\u2019d| would)|we(?:'d|\u2019d| would)) love to (?:collaborate|partner|work) with (?:you|your "
    r"(?:brand|store|shop|team|company))\b",
    r"\b(?:interested in|open to|propose|proposing|discuss|discussing) (?:a |an |some )?(?:possible |potential |paid |"
    r"gifted |long[- ]term |brand |influencer |creator |ugc )?(?:collab|collaboration|partnership|sponsorship|"
    r"ambassadorship)s?\b",
    r"\b(?:collab|collaboration|partnership|sponsorship|influencer|ambassador) (?:opportunity|opportunities|proposal|"
    r"request|inquiry|enquiry)\b",
    r"\b(?:my|our|mein|meine|unser|unsere|mi|nuestro|mon|notre|il mio|o meu) (?:media ?kit|rate card|press kit|"
    r"creator kit)\b",
    r"\bugc (?:creator|content|videos?|ads?|package|packages|rates)\b",
    r"\b(?:promote|feature|showcase|introduce|review) (?:your|the) (?:brand|products?|store|shop|collection|"
    r"leggings|items)s? (?:to|on|with|across) (?:my|our) (?:\d[\d.,]*\s*[km]?\+? )?(?:engaged |loyal |)(?:followers|"
    r"audience|community|subscribers|instagram|tiktok|youtube|channel|page|account|platform|blog|readers)\b",
    r"\b(?:join|sign up for|apply to|apply for) (?:our|my) (?:affiliate|influencer|creator|partner|reseller) "
    r"(?:network|program|programme|platform|marketplace)\b",
    # suppliers, dropshipping, marketplaces, buyers of the shop
    r"\bdrop ?shipping (?:agent|supplier|partner|service|company|solution)s?\b",
    r"\b(?:we are|we're|i am|i'm) (?:an? |the |your )?(?:leading |professional |experienced |reliable |trusted |top |"
    r"certified |chinese |verified )*(?:manufacturer|factory|supplier|sourcing agent|sourcing company|wholesaler|"
    r"oem manufacturer|fulfil+ment (?:center|centre|company|partner|provider))s?\b",
    r"\b(?:oem|odm)\s*(?:/|&|and|or)\s*(?:oem|odm)\b",
    r"\bfactory[- ](?:direct|price|prices|pricing)\b",
    r"\b(?:somos (?:una? )?(?:fabricantes?|proveedor(?:es)?|mayoristas?)|nous sommes (?:un |une )?(?:fabricant|"
    r"fournisseur|grossiste)|wir sind (?:ein |eine )?(?:hersteller|lieferant|gro(?:ß|ss)h(?:ä|ae)ndler)|siamo (?:un |"
    r"una )?(?:produttore|fornitore|grossista|fabbrica)|somos (?:um |uma )?(?:fabricante|fornecedor|f(?:á|a)brica))\b",
    r"\b(?:provide|sell|offer|deliver|get|buy) (?:\d+ )?(?:genuine[- ]looking |real |positive |verified )?"
    r"(?:five[- ]star|5[- ]star) reviews\b",
    r"\bwe (?:build|design|develop|create|make) (?:[\w-]+ ){0,4}(?:apps|websites|stores|themes|shops) for (?:shopify|"
    r"e-?commerce|online|dtc) (?:stores|brands|shops|merchants|businesses)\b",
    r"\b(?:sell|list|launch|scale) your (?:products|brand|items|collection|store|shop)s? on (?:amazon|walmart|etsy|"
    r"ebay|zalando|tiktok shop|temu|our (?:marketplace|platform|app))\b",
    r"\b(?:acquire|acquiring|acquisition of|invest in|investing in|interested in buying|interested in acquiring|"
    r"make an offer (?:on|for)) your (?:store|shop|business|brand|company|website)\b(?!['\u2019])",
    r"\b(?:grow|scale|boost|double|triple|skyrocket|10x) your (?:store'?s? |shop'?s? |brand'?s? |online |e-?commerce "
    r"|shopify |monthly )?(?:sales|revenue|conversions?|conversion rate|roas|traffic|orders|business|profits?)\b",
    # other agencies
    r"\b(?:we|i) (?:can|will|could) (?:help you )?(?:build|create|design|redesign|develop|fix|optimi[sz]e|speed up) "
    r"(?:a |an |your )?(?:new |custom |professional |high[- ]converting )?(?:shopify |e-?commerce |online )?(?:store|"
    r"website|site|app|theme|landing page|logo)\b",
    r"\b(?:posicionamiento (?:web|seo)|primera p[aá]gina de google|premi[eè]re page de google|erste(?:n)? seite "
    r"(?:bei|von|auf) google|prima pagina di google|primeira p[aá]gina do google|prime posizioni (?:di|su) google|"
    r"primer(?:os|as) (?:puestos|posiciones|resultados) (?:de|en) google|premiers r[ée]sultats (?:de|sur) google|"
    r"vorderen pl(?:ä|ae)tze?n? (?:bei|von|auf) google|top (?:3|5|10) (?:on|of|in) google)\b",
    r"\bwe (?:buy|purchase) (?:[\w-]+ ){0,4}(?:overstock|excess (?:stock|inventory)|end[- ]of[- ]lines?|surplus "
    r"(?:stock|inventory)|returned (?:stock|goods|items))\b|\bwe buy your (?:overstock|excess|surplus|stock|"
    r"inventory)\b",
    r"\bwe (?:write|create|produce|make|shoot|film) (?:[\w-]+ ){0,3}(?:blog posts|articles|content|product "
    r"descriptions|videos|ads|photos) for (?:e-?commerce|shopify|online|dtc|fashion|fitness|activewear) (?:brands|"
    r"stores|shops|businesses)\b",
    r"\b(?:produzione conto terzi|contract manufacturing|private label manufacturing|fabricaci[oó]n para terceros|"
    r"lohnfertigung|fa[cç]onnage)\b",
)
PITCH_HINTS = (
    r"\b(?:i|we) (?:came across|stumbled upon|found|discovered|was browsing|were browsing|have been following|"
    r"visited|checked out|took a look at|reviewed|noticed) your (?:store|shop|brand|website|site|instagram|page|"
    r"products|online store)\b",
    r"\b(?:he visto|he visitado|he revisado|hemos visto|hemos revisado) (?:vuestra|tu|su) (?:tienda|web|p[aá]gina)|"
    r"\bj'ai (?:visit[ée]|vu|d[ée]couvert) votre "
    r"(?:boutique|site|marque)|\b(?:ihren|euren) (?:online-?)?shop (?:angesehen|gesehen|entdeckt)|\bho (?:visitato|"
    r"visto) il vostro (?:negozio|sito)|\bvi a (?:vossa|sua) loja",
    r"\b(?:quick|short|brief|free|\d{1,2}[- ]?min(?:ute)?s?)(?: intro| introductory| discovery| strategy)? (?:call|"
    r"chat|zoom|meeting|consultation)\b|\b(?:intro|discovery) call\b|\b(?:set up|hop on|jump on|schedule|book) "
    r"(?:a |an )?(?:quick |short )?(?:call|zoom|meeting)\b|\b(?:videollamada|llamada|appel|chiamata|videochiamata|"
    r"chamada|videochamada)(?: r[aá]pida| rapide| veloce)? (?:de|di) \d+ min|\b\d+[- ]min(?:ütige[sn]?|uten) "
    r"(?:gespr(?:ä|ae)ch|telefonat|call|termin)",
    r"\bwould you be (?:interested|open|available|keen)\b|\bare you open to\b|\bworth a (?:quick |short )?"
    r"(?:chat|call)\b|\bseriez[- ]vous (?:int[ée]ress|ouverts?)|\b(?:os|le|les) interesar[ií]a\b|\bh(?:ä|ae)tte[nt]? "
    r"(?:ihr|sie) interesse\b|\bsareste interessati\b|\b(?:teriam|teria) interesse\b|\bestariam interessados\b",
    r"\b(?:hope|trust) (?:this|my) (?:e-?mail|message|note) finds you\b",
    r"\b(?:let me know|reply|just reply|simply reply) (?:if|whether) (?:you(?:'re|\u2019re| are)|you'?d be) "
    r"(?:interested|open|keen)\b",
    r"\b(?:drop ?shipping|wholesale|private label|white label|bulk pricing|MOQ|minimum order quantity|marca blanca|"
    r"pedido m[ií]nimo|tarifas? mayoristas?|mindestbestellmenge|quantit[ée] minimum|quantitativ[oi] minim[oi]|"
    r"quantidade m[ií]nima)\b",
    r"\b(?:case stud(?:y|ies)|portfolio|testimonials|our clients (?:include|see|saw|have seen|get|report|typically)|"
    r"brands like yours|brands similar to yours|brands (?:on|using) our (?:platform|app))\b",
    r"\b(?:no|zero) (?:upfront|up-front|fixed|setup|set-up|monthly) (?:cost|costs|fee|fees|risk|investment|payment)"
    r"\b|\bno strings attached\b",
    r"\b(?:work|working|paid) on (?:a )?commission\b|\bcommission[- ]only\b|\b\d+ ?% (?:of (?:the )?(?:sales|"
    r"revenue)|commission)\b",
    r"\b(?:organic traffic|domain authority|keyword research|search rankings?|seo[- ]optimi[sz]ed)\b",
    r"\b(?:conversion rate|roas|ad spend|facebook ads|meta ads|google ads|tiktok ads|email marketing|klaviyo|"
    r"abandoned cart (?:flows|emails)|cro|shopify apps?)\b",
    r"\b(?:our|my) (?:services|agency|team|platform|company) (?:can|will|could) (?:help|increase|boost|grow|improve|"
    r"take|handle|bring)\b",
    r"\b(?:unsubscribe|opt[- ]out|not interested|remove you from (?:my|our) list)\b",
    r"\b(?:(?:i|we) (?:specialize|specialise|help) (?:in )?(?:brands|stores|shops|shopify|e-?commerce)|(?:shopify|"
    r"e-?commerce|ecom|dtc|amazon|seo|marketing|web ?design) (?:expert|developer|agency|specialist|consultant|"
    r"virtual assistant|growth)s?|(?:shopify|e-?commerce|seo|online-?marketing|marketing|web(?:design)?)[- ]?"
    r"(?:agentur|agencia|agence|agenzia|ag[eê]ncia))\b",
    r"\b(?:business development|partnerships?|growth|sales|account) (?:manager|executive|lead|director|"
    r"representative)\b|\bhead of (?:partnerships|growth|sales|business development|brand partnerships)\b",
    r"\b(?:dear|hello|hi|hey) (?:store|shop|business|website|site) owner\b",
    r"(?:[$€£]\s?\d+|\b\d+\s?(?:€|eur|usd|gbp)\b)(?:[.,]\d\d)?\s*(?:/|per |an |a )\s*(?:hour|hr|month|image|photo|"
    r"video|post|reel|article|link|episode)\b",
    r"\bi(?:'m|\u2019m| am) an? (?:freelance |professional |experienced |certified )?(?:product |fashion |ecommerce "
    r"|shopify )?(?:photographer|videographer|designer|copywriter|web developer|developer|marketer|consultant|"
    r"virtual assistant)\b|\b(?:soy|je suis|ich bin|sono|sou) (?:une? |uno |una |ein |eine )?(?:desarrollador(?:a)?|"
    r"dise[ñn]ador(?:a)?|fot[oó]grafo|fot[oó]grafa|consultor(?:a)?|d[ée]veloppeu(?:r|se)|photographe|consultant(?:e)?|"
    r"(?:shopify-?)?entwickler(?:in)?|fotograf(?:in)?|berater(?:in)?|sviluppatore|fotografo|consulente|"
    r"programador(?:a)?)\b",
    r"\b(?:ho notato che il vostro|he notado que (?:vuestra|tu|su)|j'ai remarqu[ée] que votre|mir ist aufgefallen, "
    r"dass ihr)\b|\b(?:agencia|agence|agenzia|agentur|ag[eê]ncia) (?:de |di |f(?:ü|ue)r )?(?:seo|web|marketing|"
    r"digital|digitale|posicionamiento|r[ée]f[ée]rencement|online-?marketing)\b",
    r"\b(?:analisi gratuita|auditor[ií]a gratuita|audit gratuit|kostenlose (?:analyse|seo-analyse)|an[aá]lise "
    r"gratuita|an[aá]lisis gratuito)\b",
    r"\b(?:free (?:trial|for \d+ days)|try (?:it|us) (?:free|for free)|\d+[- ]day free trial)\b",
    r"\b(?:revenue[- ]based (?:financing|funding)|growth capital|merchant cash advance|no equity|non-dilutive)\b",
    r"\bconnect your (?:store|shop|shopify)(?: account)? (?:to|with|in)\b|\b(?:takes|in) (?:\d|one|two|five) "
    r"minutes to connect your (?:store|shop)\b",
)
CREATOR_HINTS = (
    r"\b(?:influenc(?:er|eur|euse)[a-z]*|content creator|ugc creator|creator|blogger|youtuber|tiktoker|instagrammer)\b",
    r"\b\d[\d.,]*\s*[km]?\+? (?:engaged |loyal |active |real )?(?:followers|subscribers|seguidores|abonn[eé]s|"
    r"follower|followern|abonnenten)\b",
    r"\b(?:affiliate|ambassador|creator|influencer) (?:program|programme|network|platform|agency)\b|\b(?:brand "
    r"ambassadors?|ambassadrice|ambassadeur|embajador(?:a)?|botschafter(?:in)?|ambasciatric?e|embaixador(?:a)?)\b",
    r"\b(?:collab|collaboration|colaboraci[oó]n|kooperation|zusammenarbeit|collaborazione|parceria|"
    r"colabora[cç][aã]o|partnership|sponsorship|sponsoring|pr list|gifted (?:package|collab|products?|items?))\b",
)
BRAND_DOMAINS = (
    "shopify.com", "myshopify.com", "paypal.com", "stripe.com", "klarna.com", "google.com", "apple.com",
    "microsoft.com", "amazon.com", "dhl.com", "ups.com", "fedex.com",
)
# fmt: on


class GatekeeperRules(BaseModel):
    """The gatekeeper's lists: configuration the merchant edits (TOML), with defaults that are safe for any shop.

    Domains match exactly or as a subdomain with the same owner (`mail.example.com` matches `example.com`,
    `notexample.com` does not). Owners come from the Public Suffix List (the `publicsuffixlist` package, offline),
    not from a guess at two-part suffixes: under a public suffix every subdomain has its own owner, so
    `evil.myshopify.com` does not match `myshopify.com` (anyone can open a store there) and `yahoo.*` matches
    `yahoo.com` and `mail.yahoo.co.jp` but not `yahoo.evil.co`. An entry ending in `.*` matches the name under any
    public suffix. Keywords and patterns are case-insensitive and must match whole words; a space in a pattern also
    matches a line break of the mail.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    blocked_domains: tuple[str, ...] = Field(
        default=(),
        description="Sender domains always ignored (known spammers). Empty: no domain is bad for every shop.",
    )
    system_domains: tuple[str, ...] = Field(
        default=SYSTEM_DOMAINS,
        description="Domains that only send machine mail (notification hosts, bulk-mail senders): ignored.",
    )
    automated_local_parts: tuple[str, ...] = Field(
        default=AUTOMATED_LOCAL_PARTS,
        description="Robots' local parts, whole, as a prefix before + - . _ or a digit (`bounce-77@`), or (7 letters "
        "or more) as a suffix after + - . _ (`billing-noreply@`): ignored.",
    )
    free_mail_domains: tuple[str, ...] = Field(
        default=FREE_MAIL_DOMAINS,
        description="Personal mailbox providers: customers, unless a spam keyword matches too.",
    )
    spam_keywords: tuple[str, ...] = Field(
        default=SPAM_KEYWORDS,
        description="Sales-pitch words, used only with a free-mail sender. Plain phrases (not regexes); a space "
        "also matches a hyphen. 'SEO' alone is left out on purpose: it is a common Korean surname.",
    )
    partner_domains: tuple[str, ...] = Field(
        default=(),
        description="Suppliers and agencies: their mail alerts a person (label + ticket) instead of a reply.",
    )
    phishing_subject_patterns: tuple[str, ...] = Field(
        default=(
            r"\byour (?:\w+ ){0,2}(?:account|store|shop|payouts?|mailbox|domain) (?:has been|have been|is|was|will "
            r"be) (?:temporarily |permanently )?(?:suspended|locked|disabled|deactivated|restricted|terminated)\b",
            r"\byour (?:facebook |instagram |business |ad |ads )?(?:page|ad account|business account|listing|website)"
            r"(?: [\w&'-]+){0,3} (?:has been|is|was|will be) (?:temporarily |permanently )?(?:suspended|disabled|"
            r"deactivated|restricted|unpublished|removed|deleted)\b",
            r"\bverify your (?:account|identity|store|mailbox|email|payment (?:details|information|method))\b",
            r"\b(?:unusual|suspicious) (?:sign[- ]?in|login) (?:activity|attempt)|\bunusual activity (?:on|in) your\b",
            r"\byour (?:password|mailbox|email account) (?:expires|will expire|has expired|is expiring|is full)\b",
            r"\bconfirm your (?:billing|payment) (?:details|information)\b",
            r"\binvoice attached\b",
            r"\byour (?:parcel|package|shipment|delivery) (?:is |has been |was )?(?:on hold|held|suspended|"
            r"awaiting (?:payment|customs)|returned to sender)\b",
            r"\b(?:ihr paket (?:konnte nicht zugestellt|wird zur(?:ü|ue)ckgehalten|liegt beim zoll)|votre colis (?:est "
            r"en attente|n'a pas pu (?:ê|e)tre livr|est bloqu)|su (?:paquete|env[ií]o) (?:est(?:á|a) retenido|no ha "
            r"podido ser entregado|est(?:á|a) en espera)|il (?:tuo|suo) pacco (?:(?:è|e) in giacenza|non (?:è|e) stato "
            r"consegnato)|a sua encomenda (?:est(?:á|a) retida|n(?:ã|a)o (?:foi|p(?:ô|o)de ser) entregue))",
            r"\bcopyright (?:infringement|violation|claim|complaint|strike)\b|\bdmca (?:notice|complaint|takedown)\b",
            r"\bdomain (?:name )?(?:expiration|expiry|suspension)\b|\b(?:domain|website|seo) (?:renewal|expiration) "
            r"(?:notice|reminder|warning)\b",
            r"\bmailbox (?:storage |quota )?(?:is )?(?:full|almost full|exceeded|over quota)\b|\b(?:storage|quota) "
            r"(?:is )?(?:full|exceeded|limit reached)\b|\bincoming (?:messages|mails?|emails?) (?:are )?(?:on hold|"
            r"suspended|blocked|pending)\b",
        ),
        description="Regexes for phishing subjects aimed at the merchant ('your store has been suspended'); "
        "written with 'your' so a customer's 'my account is locked' still reaches a person.",
    )
    phishing_body_patterns: tuple[str, ...] = Field(
        default=(
            r"\b(?:view|open|download|access|see) (?:the |my )?(?:document|file|attachment|invoice|pdf|evidence)s?\b"
            r".{0,40}\bpassword\b",
            r"\b(?:confirm|verify|update|validate) your (?:identity|account|payment|billing|bank|card|login)"
            r"(?: details| information| data)? (?:within|before|in) (?:the next )?\d+ (?:hours|days)\b",
            r"\b(?:recovery|seed|secret) phrase\b",
            r"\bto (?:restore|unlock|reactivate|release) (?:your )?(?:account|access|store|funds|payouts|mailbox)\b",
        ),
        description="Regexes for phishing bodies aimed at the merchant: a link to a password-protected document, "
        "'verify your account within 24 hours', a wallet's recovery phrase, 'to restore your account'.",
    )
    b2b_body_patterns: tuple[str, ...] = Field(
        default=(
            r"\bwe (?:offer|provide|specialize in|specialise in) (?:affordable |professional |high[- ]quality )?"
            r"(?:seo|search engine optimi[sz]ation|web ?design|website design|web development|app development|"
            r"digital marketing|social media marketing|link building|lead generation|content writing)\b",
            r"\bincrease your (?:website'?s? |site'?s? |store'?s? |organic )?(?:traffic|ranking|rankings)\b",
            r"\b(?:noticed|found|saw) (?:that )?your (?:website|site|store) (?:is not|isn't|doesn't|does not) "
            r"(?:(?:rank|appear|show up)\w* (?:well |high |at all )?(?:on|in) google|(?:on|in) the first page)\b",
            r"\b(?:first|1st|top) page of google\b",
            r"\b\d[\d,]*\+? (?:high[- ]authority |high[- ]quality |quality |do-?follow )?backlinks\b",
            r"\b(?:free|complimentary) (?:seo |website |site )?audit\b",
            r"\bguest post(?:ing)? (?:on|for|to|in) your (?:blog|website|site)\b",
            r"\bif you (?:do not|don't) want to hear from (?:us|me) again\b",
        ),
        description="Regexes that mark a cold sales pitch from any sender (SEO, web design, link building). "
        "Kept specific: words a customer also uses ('commission', 'website', 'sales') are not patterns.",
    )
    contact_form_senders: tuple[str, ...] = Field(
        default=("mailer@shopify.com",),
        description="Relays of the shop's contact form: the customer is its Email field (or the Reply-To).",
    )
    shop_domains: tuple[str, ...] = Field(
        default=(),
        description="The merchant's own domains: mail from them that fails DMARC, or from a lookalike, is phishing.",
    )
    brand_domains: tuple[str, ...] = Field(
        default=BRAND_DOMAINS,
        description="Domains phishers imitate: failed DMARC on them (or the shop's, a partner's) or a lookalike.",
    )
    shop_names: tuple[str, ...] = Field(
        default=(),
        description="The shop's names as customers see them ('Aurora Activewear'): mail from elsewhere whose display "
        "name is, or imitates, one of them is phishing. Empty: the names in the shop domains ('aurora-activewear').",
    )
    advertising_subject_patterns: tuple[str, ...] = Field(
        default=ADVERTISING_SUBJECT_PATTERNS,
        description="Regexes (case-sensitive) for the subject tags that laws ask of unsolicited advertising: 'ADV:', "
        "'[PUBLICIDAD]', 'PUBLI:', '[Werbung]', '(광고)', '未承諾広告'.",
    )
    pitch_patterns: tuple[str, ...] = Field(
        default=PITCH_PATTERNS,
        description="Regexes that mark a cold pitch by themselves: influencer and UGC collaborations, affiliate "
        "networks, dropshipping agents, factories, marketplace agencies, buyers of the shop, store builders.",
    )
    pitch_hints: tuple[str, ...] = Field(
        default=PITCH_HINTS,
        description=f"Regexes for the weak signs of a sales pitch ('I came across your store', 'quick call', 'would "
        f"you be interested', 'case studies'): {_PITCH_HINTS_NEEDED} different signs, counting `creator_hints` too, "
        "of which one at least from this list, make a pitch, unless the mail reads like a customer's (an order "
        "number, 'my order', 'I ordered').",
    )
    creator_hints: tuple[str, ...] = Field(
        default=CREATOR_HINTS,
        description="Regexes for who a pitching creator says they are ('influencer', '50k followers', 'brand "
        "ambassador', 'collaboration'). Never enough alone: a customer may be an influencer ('I'm an influencer and "
        "my order #1021 never arrived'), or ask about a collaboration in plain words.",
    )

    @field_validator("*")
    @classmethod
    def _clean(cls, values: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        """Lower-case the names; check that every regex compiles, so a bad config fails at start-up."""
        if info.field_name not in _REGEX_FIELDS:
            return tuple(v.strip().lower().rstrip(".") for v in values if v.strip())
        for pattern in values:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"{pattern!r} is not a valid regular expression: {error}") from error
        return values

    @cached_property
    def trusted_domains(self) -> tuple[str, ...]:
        """Domains whose failed DMARC, or whose lookalike, is phishing."""
        forms = (_split(sender)[1] for sender in self.contact_form_senders)
        return tuple(dict.fromkeys((*self.shop_domains, *self.brand_domains, *self.partner_domains, *forms)))

    @cached_property
    def own_names(self) -> tuple[str, ...]:
        """The shop's names, normalised for comparison: `shop_names`, else each shop domain's own label."""
        names = self.shop_names or tuple(labels[-1] for labels in map(_private_labels, self.shop_domains) if labels)
        return tuple(dict.fromkeys(n for n in map(_name_key, names) if len(n.replace(" ", "")) >= 4))

    @cached_property
    def brand_names(self) -> tuple[str, ...]:
        """Names of the brands phishers pose as (from `brand_domains`), five letters or more: 'paypal', 'shopify'."""
        labels = (labels[-1] for labels in map(_private_labels, self.brand_domains) if labels)
        return tuple(dict.fromkeys(label for label in labels if len(label) >= 5))

    @cached_property
    def spam_keyword_re(self) -> re.Pattern[str] | None:
        words = [re.escape(k).replace(r"\ ", r"[\s-]+") for k in self.spam_keywords]
        return re.compile(rf"(?<!\w)(?:{'|'.join(words)})(?!\w)", re.IGNORECASE) if words else None


def gatekeep(message: Message, *, own_address: str, rules: GatekeeperRules) -> GateDecision:
    """Decide what happens to one incoming message: answer it (PROCESS), drop it (IGNORE), or alert a person.

    Rules run in a fixed order and the first that matches decides: mail from the mailbox itself; what spam filters
    on the way already decided (Gmail's SPAM and TRASH labels, X-Spam-* and rspamd headers, a ***SPAM*** subject
    tag) and the GTUBE test string; headers (bounces, failed DMARC on a trusted or lookalike domain,
    Auto-Submitted, Precedence, mailing lists, auto-reply subjects); the Shopify contact form; sender lists;
    senders imitating the shop or a brand; phishing subjects, advertising tags, spam and sales pitches;
    otherwise a customer. A filter's "not spam" is never a reason to answer: only the rules above decide that.
    """
    headers = message.headers
    own = own_address.strip().lower()
    sender = headers.from_.email.strip().lower() if headers.from_ else ""
    if message.from_me or sender == own or {"SENT", "DRAFT"} & set(message.labels):
        return _ignore("self", "sent by this mailbox (or one of its drafts)")
    body = (message.new_text.strip() or message.text)[:_SCAN_CHARS]
    decision = (
        _upstream_rules(message)
        or _header_rules(message, sender, rules)
        or _contact_form(message, sender, own, rules)
        or _sender_rules(sender, rules)
        or _impersonation(message, _split(sender)[1], rules)
        or _content_rules(headers.subject, body, _split(sender)[1], rules)
    )
    if decision is not None:
        return decision
    identity = mail_identity(headers, rejected_reply_to=_reply_to_rejection(headers.reply_to, own, rules))
    if identity is None:
        return _ignore("sender:missing", "no From or Reply-To address to answer")
    return _process(identity, "customer", f"no rule matched; the reply goes to the {identity.source} address")


def _process(identity: Identity, reason: str, detail: str, body: str | None = None) -> GateDecision:
    """PROCESS with the identity: verified, or unverified with its problems (no customer data, review label)."""
    if not identity.verified:
        reason = "review:form" if reason.startswith("form") else "review:sender"
        detail = f"{detail}; not verified: {'; '.join(identity.problems)}"
    return GateDecision(
        verdict=Verdict.PROCESS,
        reason=reason,
        detail=detail,
        customer_email=identity.customer_email,
        recipient=identity.recipient.email,
        customer_name=identity.recipient.name,
        review=identity.problems,
        body=body,
    )


def lookalike_of(domain: str, protected: Iterable[str], *, strict: bool = False) -> str | None:
    """The protected domain that `domain` imitates, or None.

    A domain's name is its labels left of the public suffix, read from the Public Suffix List (`publicsuffixlist`,
    bundled, offline) rather than guessed: `aurora-activewear.myshopify.com` is the name `aurora-activewear` under
    the suffix `myshopify.com`, so `evil.myshopify.com` is another shop (not the protected one, nor a lookalike of
    it), and `shop.example.co.uk` is `example` under `co.uk`. A protected domain that is itself a public suffix
    (`myshopify.com`) has no name of its own to imitate.

    Default (used when DMARC already failed): edit distance <= 2 (1 for brands of 5 letters), 0/o 1/l rn/m and
    Cyrillic or Greek look-alike letters, or the brand inside a longer name (`aurora-activewear-help`). `strict`
    (used on mail that passed or lacks DMARC, where the domain is really the sender's): only deliberate imitations
    count, so a customer at `applebee.example` or `strive.example` is not taken for Apple or Stripe: look-alike
    letters (`paypa1`, `aurora-activevvear`), a brand of 7 letters or more one edit away (`shopiify`), a brand
    joined to a word like 'secure' or 'support' (`paypal-secure`), and for `own` domains (the shop's) also any
    name within two edits of the shop's or holding it (`auroraactivewear-help`). The same name under another
    suffix (`paypal.de`) is not an imitation in strict mode.
    """
    return _lookalike(domain.lower().rstrip("."), tuple(protected), strict=strict, own=False)


def _lookalike(domain: str, protected: tuple[str, ...], *, strict: bool, own: bool) -> str | None:
    if not domain or _first(domain, protected):
        return None  # the real thing (or its subdomain), not an imitation
    raws = _private_labels(domain)
    for real in protected:
        real_labels = _private_labels(real)
        if not real_labels:
            continue
        raw_brand = real_labels[-1]
        brand = _normalise(raw_brand)
        if len(brand) < 4:
            continue
        limit = 1 if len(brand) <= 5 else 2
        for raw in raws:
            name = _normalise(raw)
            if strict and _imitates(raw, name, raw_brand, brand, own=own):
                return real
            if not strict and (
                brand in name or any(_distance(token, brand, limit) <= limit for token in {name, *name.split("-")})
            ):
                return real
    return None


def _imitates(raw: str, name: str, raw_brand: str, brand: str, *, own: bool) -> bool:
    """Whether the name `raw` (normalised: `name`) deliberately imitates `raw_brand` (see `lookalike_of`)."""
    if raw == raw_brand:
        return False
    tokens = name.split("-")
    if name == brand or name.replace("-", "") == brand.replace("-", ""):
        return True
    if brand in tokens and any(token in _PHISHING_WORDS for token in tokens):
        return True
    if len(brand) >= 7 and any(token != brand and _distance(token, brand, 1) <= 1 for token in tokens):
        return True
    if not own:
        return False
    compact, target = name.replace("-", ""), brand.replace("-", "")
    if len(target) >= 8 and target in compact:
        return True
    if len(target) < 6:
        return False
    limit = 1 if len(target) <= 7 else 2
    sizes = (len(target) - 1, len(target), len(target) + 1)
    windows = {compact[i : i + size] for size in sizes for i in range(max(1, len(compact) - size + 1))}
    return any(_distance(window, target, limit) <= limit for window in windows)


def _upstream_rules(message: Message) -> GateDecision | None:
    """What filters before us decided: a SPAM or TRASH label, a spam verdict header, a subject tag; and GTUBE.
    Only verdicts of "spam" count: a header saying "not spam" may have been written by the sender."""
    for label, reason in _UPSTREAM_LABELS.items():
        if label in message.labels:
            return _ignore(reason, f"the mailbox filed it under {label}")
    for verdict in message.headers.spam_verdicts:
        if verdict.spam is True:
            detail = f"an upstream spam filter said spam: {verdict.header}: {verdict.value[:120]}"
            return _ignore("upstream:spam-header", detail)
    if found := _SUBJECT_TAG.search(message.headers.subject):
        return _ignore("upstream:subject-tag", f"an upstream spam filter tagged the subject ({found.group(0).strip()})")
    if _GTUBE in message.text:
        return _ignore("spam:gtube", "the GTUBE spam test string is in the body")
    return None


def _header_rules(message: Message, sender: str, rules: GatekeeperRules) -> GateDecision | None:
    headers = message.headers
    local, domain = _split(sender)
    reports = [a.content_type for a in message.attachments if a.content_type.lower() in _REPORT_TYPES]
    if local in _BOUNCE_SENDERS or reports:
        return _ignore("bounce", f"delivery report ({', '.join(reports) or f'sender {local}'})")
    auth = headers.authentication
    if (auth.dmarc or "").strip().lower() == "fail":
        for candidate in dict.fromkeys(d for d in (domain, (auth.dmarc_domain or "").lower()) if d):
            trusted = _first(candidate, rules.trusted_domains)
            if trusted:
                return _ignore("phishing:dmarc", f"DMARC failed for {candidate}, a domain the shop trusts ({trusted})")
            free = _first(candidate, rules.free_mail_domains)  # googlemail.com is Gmail, not a fake google.com
            imitated = None if free else lookalike_of(candidate, rules.trusted_domains)
            if imitated:
                return _ignore("phishing:dmarc", f"DMARC failed for {candidate}, a lookalike of {imitated}")
    auto = (headers.auto_submitted or "").split(";")[0].strip().lower()
    if auto and auto != "no":
        return _ignore("header:auto-submitted", f"Auto-Submitted: {auto}")
    precedence = (headers.precedence or "").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return _ignore("header:precedence", f"Precedence: {precedence}")
    if headers.list_id or headers.list_unsubscribe:
        return _ignore("header:list", "mailing-list headers (List-Id or List-Unsubscribe)")
    if headers.autoreply and headers.autoreply.strip().lower() not in ("no", "false", "0"):
        return _ignore("header:auto-submitted", f"autoresponder header (X-Autoreply: {headers.autoreply[:40]})")
    if found := _AUTO_REPLY_SUBJECT.search(headers.subject):
        return _ignore("header:auto-submitted", f"an autoresponder's subject ({found.group(0).strip()!r})")
    if (headers.return_path or "").strip() == "<>":
        return _ignore("bounce", "empty Return-Path <> (a delivery report)")
    return None


def _contact_form(message: Message, sender: str, own: str, rules: GatekeeperRules) -> GateDecision | None:
    # A form sender that fails DMARC never gets here: its domain is trusted, so _header_rules calls it phishing.
    if sender not in rules.contact_form_senders:
        return None
    fields = _form_fields(message.text)
    emails = [e for e in fields.get("email", []) if e.strip()]
    rejected = _reply_to_rejection(message.headers.reply_to, own, rules)
    name = next(iter(fields.get("name", [])), "").split("\n")[0]
    identity = form_identity(message.headers, form_sender=sender, emails=emails, name=name, rejected_reply_to=rejected)
    if identity is None:
        return _decide(Verdict.INTERNAL_ALERT, "form:no-address", "contact form without a customer address")
    body = "\n".join(fields.get("message", [])) or message.new_text
    email = identity.recipient.email
    decision = _sender_rules(email, rules) or _content_rules("", body[:_SCAN_CHARS], _split(email)[1], rules)
    if decision is not None:
        return decision.model_copy(update={"detail": f"contact form: {decision.detail}"})
    return _process(identity, "form:contact", "shop contact form; the customer is its Email field", body=body)


def _sender_rules(sender: str, rules: GatekeeperRules) -> GateDecision | None:
    local, domain = _split(sender)
    if blocked := _first(domain, rules.blocked_domains):
        return _ignore("sender:blocked", f"sender domain is blocked ({blocked})")
    if system := _first(domain, rules.system_domains):
        return _ignore("sender:automated", f"sender domain only sends machine mail ({system})")
    if robot := _automated_local_part(local, rules):
        return _ignore("sender:automated", f"automated sender address ({robot}@...)")
    if partner := _first(domain, rules.partner_domains):
        return _decide(Verdict.INTERNAL_ALERT, "sender:partner", f"partner ({partner})")
    return None


def _impersonation(message: Message, domain: str, rules: GatekeeperRules) -> GateDecision | None:
    """Mail from outside that poses as the shop or a brand: a lookalike domain (From or Reply-To), or a display
    name that is the shop's name (or imitates it) or a brand's name. Trusted domains and free mail are exempt
    from the domain check (googlemail.com is Gmail); the display-name check spares trusted domains only."""
    headers = message.headers
    if domain and _first(domain, rules.trusted_domains):
        return None
    candidates = [domain, *(_split(address.email)[1] for address in headers.reply_to[:1])]
    for candidate in dict.fromkeys(c for c in candidates if c and not _first(c, rules.free_mail_domains)):
        imitated = _lookalike(candidate, rules.shop_domains, strict=True, own=True) or _lookalike(
            candidate, rules.trusted_domains, strict=True, own=False
        )
        if imitated:
            return _ignore("phishing:lookalike", f"the sender's domain {candidate} imitates {imitated}")
    name = headers.from_.name if headers.from_ else None
    if name and (posed := _posed_name(name, rules)):
        return _ignore("phishing:display-name", f"the display name poses as {posed} but the mail is from {domain}")
    return None


def _content_rules(subject: str, body: str, domain: str, rules: GatekeeperRules) -> GateDecision | None:
    for pattern in _compiled(rules.phishing_subject_patterns):
        if found := pattern.search(subject):
            return _ignore("phishing:subject", f"phishing subject: {found.group(0)!r}")
    for pattern in _compiled(rules.advertising_subject_patterns, 0):
        if found := pattern.search(subject):
            return _ignore("spam:adv", f"advertising tag in the subject: {found.group(0).strip()!r}")
    text = " ".join(f"{subject}\n{body}".split())  # a pattern's space also matches a line break of the mail
    for pattern in _compiled(rules.phishing_body_patterns):
        if found := pattern.search(text):
            return _ignore("phishing:body", f"phishing text: {found.group(0)!r}")
    free = _first(domain, rules.free_mail_domains)
    if free and rules.spam_keyword_re and (found := rules.spam_keyword_re.search(text)):
        return _ignore("spam:b2b", f"free-mail sender ({free}) with spam keyword {found.group(0)!r}")
    for pattern in _compiled(rules.b2b_body_patterns):
        if found := pattern.search(text):
            return _ignore("spam:b2b", f"sales pitch: {found.group(0)!r}")
    for pattern in _compiled(rules.pitch_patterns):
        if found := pattern.search(text):
            return _ignore("spam:pitch", f"cold pitch: {found.group(0)!r}")
    hints = [found.group(0) for pattern in _compiled(rules.pitch_hints) if (found := pattern.search(text))]
    hints += [found.group(0) for pattern in _compiled(rules.creator_hints) if hints and (found := pattern.search(text))]
    if len(hints) >= _PITCH_HINTS_NEEDED and not _CUSTOMER_EVIDENCE.search(text):
        return _ignore("spam:pitch", f"cold pitch ({len(hints)} signs: {', '.join(repr(h) for h in hints[:4])})")
    return None


def _posed_name(name: str, rules: GatekeeperRules) -> str | None:
    """The shop or brand a display name poses as: the shop's name (or within an edit or two of it, or written with
    look-alike letters) as words of the name; a brand's name as a word ('PayPal Service')."""
    key = _name_key(name)
    words, compact = key.split(), key.replace(" ", "")
    for shop in rules.own_names:
        shop_words, target = shop.split(), shop.replace(" ", "")
        if _has_run(words, shop_words) or (len(target) >= 8 and target in compact):
            return f"the shop ({shop})"
        limit = 1 if len(target) <= 10 else 2
        if len(target) >= 8 and any(
            _distance(" ".join(words[i : i + len(shop_words)]).replace(" ", ""), target, limit) <= limit
            for i in range(len(words))
        ):
            return f"the shop ({shop})"
    return next((f"the brand {brand}" for brand in rules.brand_names if brand in words), None)


def _has_run(words: list[str], run: list[str]) -> bool:
    return any(words[i : i + len(run)] == run for i in range(len(words) - len(run) + 1))


def _name_key(name: str) -> str:
    """A name for comparison: accents dropped, look-alike letters and digits read as Latin, words of a-z only."""
    text = unicodedata.normalize("NFKD", name.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.findall(r"[a-z]+", _normalise(text)))


def _reply_to_rejection(reply_to: list[Address], own: str, rules: GatekeeperRules) -> str | None:
    """Why the rules refuse the (first) Reply-To address as a recipient, or None when it is acceptable."""
    if not reply_to:
        return None
    local, domain = _split(reply_to[0].email)
    if reply_to[0].email == own:
        return "it is this mailbox"
    if blocked := _first(domain, (*rules.blocked_domains, *rules.system_domains)):
        return f"its domain only sends machine mail or is blocked ({blocked})"
    if robot := _automated_local_part(local, rules):
        return f"it is an automated address ({robot}@...)"
    return None


def _form_fields(text: str) -> dict[str, list[str]]:
    """Name, email and message of a contact-form notification ('Label:' then the value, same or next lines); each
    field's values in order, so a field that appears twice (a forged 'Email:' line) is visible as such."""
    fields: dict[str, list[list[str]]] = {}
    current: str | None = None
    for line in text.splitlines():
        match = _FIELD_LINE.match(line)
        kind = _FORM_FIELD.get(match.group(1).strip().lower()) if match else None
        if match and kind and (current != "message" or kind == "email"):  # the message runs to the end ...
            current = kind  # ... except that an Email line inside it is counted: a second Email field is a forgery
            fields.setdefault(kind, []).append([match.group(2)])
        elif current is not None:
            fields[current][-1].append(line)
    return {kind: ["\n".join(lines).strip() for lines in values] for kind, values in fields.items() if kind != "other"}


def _automated_local_part(local: str, rules: GatekeeperRules) -> str | None:
    """The robot word a local part is, starts with (`bounce-77`), or, for words of 7 letters or more, ends with
    (`billing-noreply`, `calendar-notification`; short words like 'mailer' could be a surname: `jo.mailer`)."""
    for prefix in rules.automated_local_parts:
        if local == prefix or (local.startswith(prefix) and local[len(prefix)] in _PREFIX_END):
            return prefix
        if len(prefix) >= 7 and local.endswith(prefix) and local[-len(prefix) - 1 : -len(prefix)] in _SEPARATORS:
            return prefix
    return None


def _ignore(reason: str, detail: str) -> GateDecision:
    return GateDecision(verdict=Verdict.IGNORE, reason=reason, detail=detail)


def _decide(verdict: Verdict, reason: str, detail: str) -> GateDecision:
    return GateDecision(verdict=verdict, reason=reason, detail=detail)


@lru_cache(maxsize=64)
def _compiled(patterns: tuple[str, ...], flags: int = re.IGNORECASE) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, flags) for p in patterns)


def _split(address: str) -> tuple[str, str]:
    local, _, domain = address.strip().lower().rpartition("@")
    return local, domain.rstrip(".")


def _matches(domain: str, entry: str) -> bool:
    """`domain` is `entry` or a subdomain of it with the same owner; `name.*` is `name` under any public suffix."""
    if entry.endswith(".*"):
        registrable = _registrable(domain)
        return registrable is not None and registrable == f"{entry[:-2]}.{_public_suffix(domain)}"
    if domain == entry:
        return True
    if not domain.endswith("." + entry):
        return False
    registrable = _registrable(domain)  # under a public suffix (myshopify.com) each subdomain has its own owner
    return registrable is None or len(registrable) <= len(entry)


def _first(domain: str, entries: Iterable[str]) -> str | None:
    return next((entry for entry in entries if _matches(domain, entry)), None) if domain else None


@lru_cache(maxsize=1)
def _suffix_list() -> PublicSuffixList:
    return PublicSuffixList()  # the bundled list: no network


@lru_cache(maxsize=4096)
def _public_suffix(domain: str) -> str:
    return _suffix_list().publicsuffix(domain) or domain


@lru_cache(maxsize=4096)
def _registrable(domain: str) -> str | None:
    """The registrable domain (public suffix plus one label): `a.b.example.co.uk` -> `example.co.uk`."""
    return _suffix_list().privatesuffix(domain)


def _private_labels(domain: str) -> list[str]:
    """The labels left of the public suffix (`shop.example.co.uk` -> ['shop', 'example'], `myshopify.com` -> [])."""
    domain = domain.strip().lower().rstrip(".")
    suffix = _public_suffix(domain)
    return domain[: -len(suffix) - 1].split(".") if domain != suffix and domain.endswith("." + suffix) else []


def _normalise(label: str) -> str:
    return label.translate(_HOMOGLYPHS).replace("rn", "m").replace("vv", "w")


def _distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, or limit + 1 as soon as it is certainly larger than `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]
