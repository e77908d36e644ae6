"""The recommender's mathematics, as plain functions of baskets and catalogue data (no database): the rebuild, the
incremental update and the offline evaluation all use these, so what is measured is what is served.

- Co-purchase (item to item, after Linden, Smith and York 2003): for a product A, the products B bought in the
  same orders, ranked by how many orders hold both (equivalently by the confidence P(B | A) = both / orders of A),
  kept only with a minimum support of MIN_SUPPORT orders, so one odd basket recommends nothing. A's list depends
  only on A's own pair counts, so an order changes exactly the lists of its own products: the incremental update
  is exact (equal to a rebuild), and cheap.
- Popularity: the most bought products overall and per category, the fallback where co-purchase knows too little,
  and the baseline any recommender must beat.
- Similar items, from the catalogue alone (for products nobody has bought yet): TF-IDF over the words of the name,
  the attribute values and the description, cosine similarity among the products of the same category.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

MIN_SUPPORT = 2  # orders that must hold both products before one recommends the other
LIST_SIZE = 30  # entries kept per list: enough to fill 10 after the serve-time filters drop some
COMMON_SHARE, COMMON_FLOOR = 0.2, 50  # similar items: a word in more of a category than this is not matched on
WORD = re.compile(r"[a-z0-9]+")
STOP_WORDS = frozenset({"a", "an", "and", "the", "of", "to", "for", "in", "on", "our", "is", "it", "its", "be", "as",
                        "by", "from", "with", "not", "out", "all", "one", "see"})

Lists = dict[str, list[list]]  # product or category -> [[slug, score], ...], best first


def basket_counts(baskets: Iterable[Iterable[str]]) -> tuple[Counter, Counter]:
    """Orders per product, and per ordered pair (both directions) of distinct products."""
    products: Counter = Counter()
    pairs: Counter = Counter()
    for basket in baskets:
        items = sorted(set(basket))
        products.update(items)
        for i, a in enumerate(items):
            for b in items[i + 1:]:
                pairs[(a, b)] += 1
                pairs[(b, a)] += 1
    return products, pairs


def bought_list(product_orders: int, neighbours: Iterable[tuple[str, int]], *, size: int = LIST_SIZE) -> list[list]:
    """A product's co-purchase list from its (other product, orders holding both) pairs: [[slug, confidence]]."""
    kept = sorted(((-both, other) for other, both in neighbours if both >= MIN_SUPPORT))[:size]
    return [[other, round(-negative / product_orders, 4)] for negative, other in kept] if product_orders else []


def bought_lists(products: Mapping[str, int], pairs: Mapping[tuple[str, str], int]) -> Lists:
    neighbours: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for (a, b), both in pairs.items():
        if both >= MIN_SUPPORT:
            neighbours[a].append((b, both))
    lists = {a: bought_list(products[a], found) for a, found in neighbours.items()}
    return {a: items for a, items in lists.items() if items}


def popular_list(counts: Iterable[tuple[str, int]], *, size: int = LIST_SIZE) -> list[list]:
    ranked = sorted((-orders, slug) for slug, orders in counts if orders > 0)[:size]
    return [[slug, -negative] for negative, slug in ranked]


def popular_lists(products: Mapping[str, int], category_of: Mapping[str, str]) -> Lists:
    """``*`` (the whole shop) and each category's most bought products."""
    by_category: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for slug, orders in products.items():
        by_category[category_of.get(slug, "")].append((slug, orders))
    lists = {category: popular_list(counts) for category, counts in by_category.items() if category}
    lists["*"] = popular_list(products.items())
    return {key: items for key, items in lists.items() if items}


# ---------------------------------------------------------------- similar items, from the catalogue
def _words(text: str) -> list[str]:
    return [w for w in WORD.findall(text.lower()) if w not in STOP_WORDS and len(w) > 1]


def _terms(product: Mapping) -> Counter:
    """A product's terms: the name counts three times (brand, material, kind), attributes twice, description once."""
    terms: Counter = Counter()
    for word in _words(product["name"]):
        terms[f"w:{word}"] += 3
    for value in product.get("attributes", ()):
        for word in _words(str(value)):
            terms[f"a:{word}"] += 2
    for word in _words(product.get("description", "")):
        terms[f"w:{word}"] += 1
    return terms


def similar_lists(products: Sequence[Mapping], *, size: int = LIST_SIZE) -> Lists:
    """For every product, the products of its category whose words are most alike (cosine of TF-IDF vectors),
    scored 0..1. An inverted index per category keeps it to the pairs that share a word."""
    terms = {p["slug"]: _terms(p) for p in products}
    category = {p["slug"]: p["category"] for p in products}
    document_frequency: Counter = Counter()
    for counted in terms.values():
        document_frequency.update(counted.keys())
    n = max(len(products), 1)
    vectors: dict[str, dict[str, float]] = {}
    for slug, counted in terms.items():
        weights = {t: (1 + math.log(c)) * math.log(1 + n / document_frequency[t]) for t, c in counted.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        vectors[slug] = {t: w / norm for t, w in weights.items()}
    postings: dict[tuple[str, str], list[tuple[str, float]]] = defaultdict(list)
    for slug, vector in vectors.items():
        for term, weight in vector.items():
            postings[(category[slug], term)].append((slug, weight))
    # A word most of a category shares (its descriptions' common phrasing) tells its products apart little and would
    # cost most of the time: it still weighs in each vector's length, but pairs are not scored through it.
    sizes = Counter(category.values())
    common = {key for key, found in postings.items() if len(found) > max(COMMON_FLOOR, sizes[key[0]] * COMMON_SHARE)}
    lists: Lists = {}
    for slug, vector in vectors.items():
        scores: dict[str, float] = defaultdict(float)
        for term, weight in vector.items():
            if (category[slug], term) in common:
                continue
            for other, other_weight in postings[(category[slug], term)]:
                if other != slug:
                    scores[other] += weight * other_weight
        best = sorted(((-score, other) for other, score in scores.items()))[:size]
        if best:
            lists[slug] = [[other, round(-negative, 4)] for negative, other in best]
    return lists


# ---------------------------------------------------------------- serving and evaluation
def first(lists: Iterable[Sequence[Sequence]], *, exclude: Iterable[str] = (), size: int = LIST_SIZE) -> list[str]:
    """Lists in order of preference (a product's co-purchase list, then its category's most bought, …) as one
    ranking of distinct products: each list only fills what the ones before it left."""
    seen = set(exclude)
    ranked: list[str] = []
    for items in lists:
        for slug, _ in items:
            if slug not in seen:
                seen.add(slug)
                ranked.append(slug)
                if len(ranked) >= size:
                    return ranked
    return ranked


def blend(lists: Iterable[Sequence[Sequence]], *, exclude: Iterable[str] = (), size: int = LIST_SIZE) -> list[str]:
    """Lists of one kind (the co-purchase lists of a cart's products) as one ranking: a product's scores, each as a
    share of its list's best, are summed; ties go to the one seen first."""
    excluded = set(exclude)
    scores: dict[str, float] = defaultdict(float)
    first_seen: dict[str, int] = {}
    for items in lists:
        top = max((float(score) for _, score in items), default=0.0) or 1.0
        for slug, score in items:
            if slug not in excluded:
                scores[slug] += float(score) / top
                first_seen.setdefault(slug, len(first_seen))
    return sorted(scores, key=lambda s: (-scores[s], first_seen[s]))[:size]


@dataclass(frozen=True)
class Measure:
    model: str
    hit_rate: float
    recall: float
    coverage: float

    def line(self, k: int = 10) -> str:
        return (f"{self.model}: hit-rate@{k}={self.hit_rate:.3f} recall@{k}={self.recall:.3f} "
                f"coverage={self.coverage:.2f}")


def evaluate(train: Sequence[Sequence[str]], test: Sequence[Sequence[str]], catalogue: Sequence[Mapping], *,
             k: int = 10) -> list[Measure]:
    """Train on ``train``, then for every held-out basket of two or more products and each product in it, ask
    each model for ``k`` products given that one: a hit when one of the basket's others is among them. hit-rate:
    the share of such questions with a hit; recall: the share of the others found, averaged; coverage: the share
    of the catalogue ever recommended."""
    category_of = {p["slug"]: p["category"] for p in catalogue}
    products, pairs = basket_counts(train)
    popular = popular_lists(products, category_of)
    bought = bought_lists(products, pairs)
    similar = similar_lists(catalogue)
    everywhere = popular.get("*", [])

    def fill(slug, *lists):  # a list padded with its category's most bought, then the shop's (as pages do)
        return [*lists, popular.get(category_of.get(slug, ""), []), everywhere]

    models = {
        "popularity": lambda slug: [everywhere],
        "popularity-in-category": lambda slug: fill(slug),
        "similar-items": lambda slug: [similar.get(slug, [])],
        "co-purchase": lambda slug: fill(slug, bought.get(slug, [])),
    }
    measures = []
    for name, recommend in models.items():
        questions = hits = 0
        recall = 0.0
        shown: set[str] = set()
        for basket in test:
            items = sorted(set(basket))
            if len(items) < 2:
                continue
            for slug in items:
                others = set(items) - {slug}
                top = first(recommend(slug), exclude=[slug], size=k)
                found = len(others.intersection(top))
                questions += 1
                hits += found > 0
                recall += found / len(others)
                shown.update(top)
        measures.append(Measure(name, hits / questions if questions else 0.0, recall / questions if questions else 0.0,
                                len(shown) / len(catalogue) if catalogue else 0.0))
    return measures
