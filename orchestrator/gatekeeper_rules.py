"""The gatekeeper's lists and patterns: configuration the merchant edits (the `[gatekeeper]` TOML section), with
defaults that are safe for any shop."""

from __future__ import annotations

import re
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from orchestrator.domains import name_key, private_labels, split_address

__all__ = ["PITCH_HINTS_NEEDED", "GatekeeperRules"]

PITCH_HINTS_NEEDED = 2
"""Weak signs of a pitch that make one (with at least one from `pitch_hints`)."""

_REGEX_FIELDS = frozenset({
    "phishing_subject_patterns", "phishing_body_patterns", "b2b_body_patterns", "advertising_subject_patterns",
    "pitch_patterns", "pitch_hints", "creator_hints",
})  # fmt: skip


# fmt: off
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
    # a collaboration proposed in plain words: a customer may write it too ("I bought your leggings... would you
    # be open to a collaboration?"), so it is a sign, which the customer's own words outweigh, not a verdict
    r"\b(?:i(?:'d|\u2019d| would)|we(?:'d|\u2019d| would)) love to (?:collaborate|partner|work) with (?:you|your "
    r"(?:brand|store|shop|team|company))\b",
    r"\b(?:interested in|open to|propose|proposing|discuss|discussing) (?:a |an |some )?(?:possible |potential |paid |"
    r"gifted |long[- ]term |brand |influencer |creator |ugc )?(?:collab|collaboration|partnership|sponsorship|"
    r"ambassadorship)s?\b",
    r"\b(?:collab|collaboration|partnership|sponsorship|influencer|ambassador) (?:opportunity|opportunities|proposal|"
    r"request|inquiry|enquiry)\b",
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
        description="Regexes that mark a cold pitch by themselves, whoever sends it: media kits and UGC rates, "
        "affiliate networks, dropshipping agents, factories, marketplace agencies, buyers of the shop, store "
        "builders. A collaboration proposed in plain words is not one of them: customers write that too. A mail in a "
        "customer's own words (their order or purchase, a restock or shipping question, in the six languages) is "
        "never a pitch: 'we are a manufacturer and ordered 20 shirts from you' is a customer.",
    )
    pitch_hints: tuple[str, ...] = Field(
        default=PITCH_HINTS,
        description=f"Regexes for the weak signs of a sales pitch ('I came across your store', 'quick call', 'would "
        f"you be interested', 'open to a collaboration', 'case studies'): {PITCH_HINTS_NEEDED} different signs, "
        "counting `creator_hints` too, of which one at least from this list, make a pitch, unless the mail reads "
        "like a customer's (an order number, 'my order', a purchase of their own, 'compré', 'ich habe ... bestellt', a "
        "size, restock or shipping question).",
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
        forms = (split_address(sender)[1] for sender in self.contact_form_senders)
        return tuple(dict.fromkeys((*self.shop_domains, *self.brand_domains, *self.partner_domains, *forms)))

    @cached_property
    def own_names(self) -> tuple[str, ...]:
        """The shop's names, normalised for comparison: `shop_names`, else each shop domain's own label."""
        names = self.shop_names or tuple(labels[-1] for labels in map(private_labels, self.shop_domains) if labels)
        return tuple(dict.fromkeys(n for n in map(name_key, names) if len(n.replace(" ", "")) >= 4))

    @cached_property
    def brand_names(self) -> tuple[str, ...]:
        """Names of the brands phishers pose as (from `brand_domains`), five letters or more: 'paypal', 'shopify'."""
        labels = (labels[-1] for labels in map(private_labels, self.brand_domains) if labels)
        return tuple(dict.fromkeys(label for label in labels if len(label) >= 5))

    @cached_property
    def spam_keyword_re(self) -> re.Pattern[str] | None:
        words = [re.escape(k).replace(r"\ ", r"[\s-]+") for k in self.spam_keywords]
        return re.compile(rf"(?<!\w)(?:{'|'.join(words)})(?!\w)", re.IGNORECASE) if words else None
