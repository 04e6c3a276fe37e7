"""Every GraphQL operation the Shopify client sends, in one place so tests can validate them all against the schema
(the order lookups' documents live in `order_queries`)."""

from __future__ import annotations

from shopify_mcp.order_queries import MONEY, ORDER_BY_NAME, ORDER_PAGE, ORDERS_BY_EMAIL

CUSTOMER_PROFILE = f"""
query CustomerProfile($email: String!) {{
  customerByIdentifier(identifier: {{ emailAddress: $email }}) {{
    id
    displayName
    firstName
    lastName
    defaultEmailAddress {{ emailAddress }}
    locale
    state
    verifiedEmail
    createdAt
    tags
    numberOfOrders
    amountSpent {{ {MONEY} }}
    statistics {{ rfmGroup predictedSpendTier }}
    lastOrder {{ name processedAt }}
    firstOrders: orders(first: 1, sortKey: PROCESSED_AT) {{ nodes {{ name processedAt }} }}
  }}
}}
"""

VARIANT_FIELDS = """
fragment VariantFields on ProductVariant {
  id
  title
  sku
  price
  compareAtPrice
  availableForSale
  inventoryQuantity
  inventoryPolicy
  selectedOptions { name value }
  inventoryItem {
    tracked
    inventoryLevels(first: 5) @include(if: $withLocations) {
      nodes { location { name } quantities(names: ["available"]) { name quantity } }
    }
  }
}
"""

PRODUCT_CORE = f"""
fragment ProductCore on Product {{
  id
  title
  handle
  status
  vendor
  productType
  tags
  onlineStoreUrl
  description(truncateAt: 600)
  tracksInventory
  totalInventory
  priceRangeV2 {{ minVariantPrice {{ {MONEY} }} maxVariantPrice {{ {MONEY} }} }}
  metafields(namespace: "custom", keys: $keys, first: $facts) {{ nodes {{ key type value }} }}
}}
"""

VARIANT_PAGE = "nodes { ...VariantFields } pageInfo { hasNextPage endCursor }"

PRODUCT_FIELDS = (
    f"""
fragment ProductFields on Product {{
  ...ProductCore
  variants(first: $variants) {{ {VARIANT_PAGE} }}
}}
"""
    + PRODUCT_CORE
)

PRODUCTS_SEARCH = (
    """
query ProductsSearch(
  $query: String!, $first: Int!, $withLocations: Boolean!, $variants: Int!, $keys: [String!], $facts: Int! = 15
) {
  head: products(first: 1, query: $query) { nodes { ...ProductFields variantsCount { count } } }
  products(first: $first, query: $query) { nodes { id handle variantsCount { count } } }
}
"""
    + PRODUCT_FIELDS
    + VARIANT_FIELDS
)
"""A search's first answer: the first product found in full (`$variants` of its variants and the count of all), and
the id and number of variants of every product found. `ProductsFound` then asks for the others and the first one's
remaining variants, each sized exactly, so Shopify's up-front charge stays within twice what the answers hold (a
search sized for `$first` products that finds none is the exception: 32 points reserved for 4 at `$first` 5)."""

SEARCH_SLOTS = 9
"""Products `ProductsFound` can fetch besides the first one (a search returns at most 10)."""


def _products_found() -> str:
    slots = range(1, SEARCH_SLOTS + 1)
    declared = ",\n  ".join(f"$id{i}: ID!, $variants{i}: Int! = 1, $with{i}: Boolean! = false" for i in slots)
    fetched = "\n".join(
        f"  p{i}: product(id: $id{i}) @include(if: $with{i}) {{"
        f" ...ProductCore variants(first: $variants{i}) {{ {VARIANT_PAGE} }} }}"
        for i in slots
    )
    return (
        f"""
query ProductsFound(
  $withLocations: Boolean! = false, $keys: [String!], $facts: Int! = 15,
  $head: ID!, $after: String, $rest: Int! = 1, $withRest: Boolean! = false,
  {declared}
) {{
  rest: product(id: $head) @include(if: $withRest) {{ variants(first: $rest, after: $after) {{ {VARIANT_PAGE} }} }}
{fetched}
}}
"""
        + PRODUCT_CORE
        + VARIANT_FIELDS
    )


PRODUCTS_FOUND = _products_found()
"""The rest of a search (fixed slots `p1`..`p9`, the unused ones skipped by `@include`): each product with exactly as
many variants as its count, and the first product's variants after its first page (`rest`)."""

PRODUCT_BY_HANDLE = (
    """
query ProductByHandle(
  $handle: String!, $withLocations: Boolean!, $variants: Int!, $keys: [String!], $facts: Int! = 15
) {
  productByIdentifier(identifier: { handle: $handle }) { ...ProductFields variantsCount { count } }
}
"""
    + PRODUCT_FIELDS
    + VARIANT_FIELDS
)

PRODUCT_BY_ID = (
    """
query ProductById($id: ID!, $withLocations: Boolean!, $variants: Int!, $keys: [String!], $facts: Int! = 15) {
  product(id: $id) { ...ProductFields variantsCount { count } }
}
"""
    + PRODUCT_FIELDS
    + VARIANT_FIELDS
)
"""get_product's first answer holds a few variants and the count of all; `ProductVariants` asks for exactly the rest.
Only the `custom.*` metafields the server returns are asked for (`keys`, `first` = their number)."""

PRODUCT_VARIANTS = (
    """
query ProductVariants($id: ID!, $after: String!, $variants: Int!, $withLocations: Boolean!) {
  product(id: $id) {
    variants(first: $variants, after: $after) { nodes { ...VariantFields } pageInfo { hasNextPage endCursor } }
  }
}
"""
    + VARIANT_FIELDS
)

DISCOUNT_COMMON = """
  title
  status
  summary
  startsAt
  endsAt
  discountClasses
"""

_APP_COMMON = """
  title
  status
  startsAt
  endsAt
  discountClasses
"""

_MINIMUM = f"""
  minimumRequirement {{
    __typename
    ... on DiscountMinimumQuantity {{ greaterThanOrEqualToQuantity }}
    ... on DiscountMinimumSubtotal {{ greaterThanOrEqualToSubtotal {{ {MONEY} }} }}
  }}
"""

_VALUE = f"""
      ... on DiscountPercentage {{ percentage }}
      ... on DiscountAmount {{ amount {{ {MONEY} }} appliesOnEachItem }}
"""

_GETS = f"""
  customerGets {{
    value {{
      __typename
      {_VALUE}
      ... on DiscountOnQuantity {{
        quantity {{ quantity }}
        effect {{ __typename {_VALUE} }}
      }}
    }}
  }}
"""

_CODE_LIMITS = """
  usageLimit
  asyncUsageCount
  appliesOncePerCustomer
"""

CODE_DISCOUNT_FIELDS = f"""
fragment CodeDiscountFields on DiscountCode {{
  __typename
  ... on DiscountCodeBasic {{ {DISCOUNT_COMMON} {_MINIMUM} {_GETS} {_CODE_LIMITS} tags }}
  ... on DiscountCodeFreeShipping {{
    {DISCOUNT_COMMON} {_MINIMUM} {_CODE_LIMITS} tags maximumShippingPrice {{ {MONEY} }}
  }}
  ... on DiscountCodeBxgy {{ {DISCOUNT_COMMON} {_GETS} {_CODE_LIMITS} tags }}
  ... on DiscountCodeApp {{ {_APP_COMMON} {_CODE_LIMITS} tags }}
}}
"""

DISCOUNT_BY_CODE = (
    """
query DiscountByCode($code: String!) {
  codeDiscountNodeByCode(code: $code) {
    id
    codeDiscount { ...CodeDiscountFields }
  }
}
"""
    + CODE_DISCOUNT_FIELDS
)

ACTIVE_DISCOUNTS = f"""
query ActiveDiscounts($first: Int!, $after: String, $withCount: Boolean! = false) {{
  discountNodesCount(query: "status:active", limit: 50) @include(if: $withCount) {{ count }}
  discountNodes(first: $first, after: $after, query: "status:active") {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      id
      discount {{
        __typename
        ... on DiscountAutomaticBasic {{ {DISCOUNT_COMMON} {_MINIMUM} {_GETS} }}
        ... on DiscountAutomaticFreeShipping {{ {DISCOUNT_COMMON} {_MINIMUM} maximumShippingPrice {{ {MONEY} }} }}
        ... on DiscountAutomaticBxgy {{ {DISCOUNT_COMMON} {_GETS} }}
        ... on DiscountAutomaticApp {{ {_APP_COMMON} }}
        ... on DiscountCodeBasic {{ {DISCOUNT_COMMON} {_MINIMUM} {_GETS} tags codes(first: 1) {{ nodes {{ code }} }} }}
        ... on DiscountCodeFreeShipping {{
          {DISCOUNT_COMMON} {_MINIMUM} maximumShippingPrice {{ {MONEY} }} tags codes(first: 1) {{ nodes {{ code }} }}
        }}
        ... on DiscountCodeBxgy {{ {DISCOUNT_COMMON} {_GETS} tags codes(first: 1) {{ nodes {{ code }} }} }}
        ... on DiscountCodeApp {{ {_APP_COMMON} tags codes(first: 1) {{ nodes {{ code }} }} }}
      }}
    }}
  }}
}}
"""

SHOP_POLICIES = """
query ShopPolicies {
  shop {
    name
    primaryDomain { url host }
    shopPolicies { type title body url updatedAt }
  }
}
"""

SHOP_LOCALES = """
query ShopLocales {
  shopLocales(published: true) { locale primary }
}
"""
"""The languages buyers can see (needs `read_locales`): which translations exist to ask for, and the primary one."""

SHOP_POLICY_TRANSLATIONS = """
query ShopPolicyTranslations($locale: String!) {
  shop {
    shopPolicies {
      type
      translations(locale: $locale) { key value outdated }
    }
  }
}
"""
"""Published translations of every policy into one shop locale (needs `read_translations`); key `body` is HTML.
Requested cost 3, against 22 for `translatableResources(resourceType: SHOP_POLICY, first: 10)`."""

SHOP_INFO = """
query ShopInfo {
  shop {
    name
    myshopifyDomain
    primaryDomain { url host }
    currencyCode
    contactEmail
  }
}
"""

ACCESS_SCOPES = """
query AccessScopes {
  currentAppInstallation { accessScopes { handle } }
}
"""

ALL_OPERATIONS: dict[str, str] = {
    "OrderByName": ORDER_BY_NAME,
    "OrderPage": ORDER_PAGE,
    "OrdersByEmail": ORDERS_BY_EMAIL,
    "CustomerProfile": CUSTOMER_PROFILE,
    "ProductsSearch": PRODUCTS_SEARCH,
    "ProductsFound": PRODUCTS_FOUND,
    "ProductByHandle": PRODUCT_BY_HANDLE,
    "ProductById": PRODUCT_BY_ID,
    "ProductVariants": PRODUCT_VARIANTS,
    "DiscountByCode": DISCOUNT_BY_CODE,
    "ActiveDiscounts": ACTIVE_DISCOUNTS,
    "ShopPolicies": SHOP_POLICIES,
    "ShopLocales": SHOP_LOCALES,
    "ShopPolicyTranslations": SHOP_POLICY_TRANSLATIONS,
    "ShopInfo": SHOP_INFO,
    "AccessScopes": ACCESS_SCOPES,
}
"""Operation name -> document. The client sends only these; the schema tests validate each one."""
