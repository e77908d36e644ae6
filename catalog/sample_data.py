"""A realistic, deterministic sample catalogue for `seed_catalog`: names, descriptions, variants, prices, stock and
a generated picture per product. Pure data: it touches no database (``services.catalog_import`` stores it)."""

from __future__ import annotations

import colorsys
import io
import random
from decimal import Decimal

from PIL import Image, ImageDraw

from .types import ProductSpec, VariantSpec

# (top slug, top name, [(sub slug, sub name, nouns, materials, price range, variant kind, shape)]): each
# subcategory's materials suit all of its nouns, so a name never reads "Enamel Wool Blanket" or "Down Spork"
CATEGORIES = [
    ("clothing", "Clothing", [
        ("tops", "Tops & Tees", ["Crew Tee", "Henley", "Polo", "Long-Sleeve Tee", "Tank"],
         ["Merino", "Organic Cotton", "Hemp", "Linen", "Bamboo"], (18, 60), "apparel", "shirt"),
        ("jackets", "Jackets", ["Rain Jacket", "Fleece", "Windbreaker", "Softshell", "Anorak"],
         ["Recycled Nylon", "Ripstop Nylon", "Recycled Polyester"], (70, 320), "apparel", "shirt"),
        ("trousers", "Trousers", ["Chino", "Hiking Pant", "Jogger", "Cargo Short", "Denim"],
         ["Organic Cotton", "Hemp", "Stretch Cotton"], (35, 120), "apparel", "rect"),
    ]),
    ("footwear", "Footwear", [
        ("running", "Running Shoes", ["Trail Runner", "Road Runner", "Racer", "Trainer"],
         ["Mesh", "Knit", "Recycled Mesh"], (80, 190), "shoes", "shoe"),
        ("hiking", "Hiking Boots", ["Mid Boot", "Approach Shoe", "Trekking Boot"],
         ["Suede", "Leather", "Nubuck"], (110, 260), "shoes", "shoe"),
        ("sandals", "Sandals", ["Sport Sandal", "Slide", "Flip-Flop"],
         ["Leather", "Cork", "Recycled Rubber"], (20, 90), "shoes", "shoe"),
    ]),
    ("camping", "Camping", [
        ("tents", "Tents", ["Backpacking Tent", "Family Tent", "Bivy", "Tarp Shelter"],
         ["Ripstop Nylon", "Silnylon", "Polyester"], (60, 650), "colour", "tent"),
        ("sleeping", "Sleeping Bags & Pads", ["Sleeping Bag", "Sleeping Pad", "Travel Pillow", "Quilt"],
         ["Down", "Polyester", "Recycled Nylon"], (25, 420), "length", "rect"),
        ("cooking", "Camp Kitchen", ["Stove", "Cook Pot", "Spork", "Mug", "Kettle"],
         ["Titanium", "Aluminium", "Stainless"], (8, 160), "single", "circle"),
    ]),
    ("home", "Home & Living", [  # not just "Home": the breadcrumbs begin with a link home
        ("kitchen", "Kitchen", ["Mug", "Bowl", "Serving Tray", "Canister", "Plate"],
         ["Oak", "Ceramic", "Enamel", "Stainless"], (12, 180), "colour", "circle"),
        ("textiles", "Textiles", ["Blanket", "Tea Towel", "Throw Pillow", "Table Runner"],
         ["Wool", "Linen", "Organic Cotton", "Hemp"], (19, 160), "colour", "rect"),
    ]),
    ("accessories", "Accessories", [
        ("bags", "Bags & Packs", ["Daypack", "Duffel", "Hip Pack", "Tote", "Roll-Top Pack"],
         ["Canvas", "Cordura", "Waxed Canvas", "Recycled Nylon"], (25, 240), "colour", "rect"),
        ("hats", "Hats & Gloves", ["Beanie", "Sun Hat", "Cap", "Liner Gloves", "Neck Gaiter"],
         ["Wool", "Merino", "Organic Cotton"], (12, 55), "colour", "circle"),
        ("bottles", "Bottles", ["Insulated Bottle", "Flask", "Tumbler"],
         ["Stainless", "Titanium"], (15, 50), "capacity", "rect"),
    ]),
]

# Shipping weight per category, in kg (shipping methods priced by weight read it).
WEIGHTS_KG = {slug: Decimal(kg) for slug, kg in {
    "tops": "0.250", "jackets": "0.800", "trousers": "0.600", "running": "0.900", "hiking": "1.400",
    "sandals": "0.500", "tents": "2.500", "sleeping": "1.200", "cooking": "0.700", "kitchen": "0.800",
    "textiles": "0.600", "bags": "1.000", "hats": "0.150", "bottles": "0.400"}.items()}

DESCRIPTIONS = {
    "clothing": "Cut for moving and made from {material}, it breathes on the climb and keeps its shape wash after wash.",
    "footwear": "A {material} upper over a grippy, cushioned sole: sure-footed on wet rock, comfortable all day.",
    "camping": "Built from {material} for nights out in real weather, light enough to carry and tough enough to keep.",
    "home": "Made from {material} to be used every day and passed on, not thrown out.",
    "accessories": "Hard-wearing {material}, simple to use, and ready for the trail or the commute.",
}
NAMES = ["Alder", "Birch", "Cedar", "Drift", "Ember", "Fjord", "Granite", "Harbor", "Iris", "Juniper", "Kestrel",
         "Lumen", "Meadow", "Nimbus", "Orchard", "Pine", "Quarry", "Ridge", "Summit", "Tundra", "Umber", "Vale",
         "Willow", "Yarrow", "Zephyr", "Aspen", "Basalt", "Canyon", "Delta", "Estuary"]
COLOURS = ["Black", "Navy", "Forest", "Sand", "Rust", "Slate", "Ochre", "Sky", "Plum", "Stone"]
VARIANT_KINDS = {
    "apparel": [("size", ["S", "M", "L", "XL"]), ("colour", None)],
    "shoes": [("size", ["7", "8", "9", "10", "11", "12"])],
    "colour": [("colour", None)],
    "length": [("length", ["Regular", "Long"])],
    "capacity": [("capacity", ["500 ml", "750 ml", "1 l"])],
    "single": [],
}


def _price(rng: random.Random, low: int, high: int) -> Decimal:
    whole = rng.randint(low, high)
    return Decimal(f"{whole}.{rng.choice(['00', '50', '95', '99'])}")


def _stock(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.08:
        return 0  # sold out
    if roll < 0.2:
        return rng.randint(1, 5)  # "only N left"
    return rng.randint(6, 80)


def _image(rng: random.Random, name: str, shape: str) -> bytes:
    """A 400x400 product picture: soft gradient, the category's silhouette, the product's initials."""
    hue = rng.random()
    top = tuple(int(c * 255) for c in colorsys.hls_to_rgb(hue, 0.86, 0.45))
    bottom = tuple(int(c * 255) for c in colorsys.hls_to_rgb(hue, 0.72, 0.40))
    ink = tuple(int(c * 255) for c in colorsys.hls_to_rgb(hue, 0.30, 0.45))
    size = 400
    gradient = Image.linear_gradient("L").resize((size, size))
    img = Image.composite(Image.new("RGB", (size, size), bottom), Image.new("RGB", (size, size), top), gradient)
    draw = ImageDraw.Draw(img)
    if shape == "circle":
        draw.ellipse((110, 90, 290, 270), fill=ink)
    elif shape == "tent":
        draw.polygon([(80, 280), (200, 100), (320, 280)], fill=ink)
    elif shape == "shoe":
        draw.rounded_rectangle((80, 180, 320, 260), radius=40, fill=ink)
        draw.rounded_rectangle((80, 130, 190, 240), radius=30, fill=ink)
    elif shape == "shirt":
        draw.polygon([(120, 100), (170, 90), (200, 115), (230, 90), (280, 100), (320, 160), (280, 175),
                      (280, 290), (120, 290), (120, 175), (80, 160)], fill=ink)
    else:
        draw.rounded_rectangle((120, 90, 280, 290), radius=24, fill=ink)
    initials = "".join(word[0] for word in name.split()[:2]).upper()
    draw.text((200, 335), initials, fill=ink, anchor="mm", font_size=36)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80, optimize=False)
    return out.getvalue()


def sample_products(*, count: int, seed: int = 1, with_images: bool = True):
    """Yield ``count`` ProductSpecs; the same (index, seed) always yields the same product, so a re-run with the
    same or a larger count finds what it already made by slug."""
    subcategories = [(top, sub) for top in CATEGORIES for sub in top[2]]
    for index in range(count):
        rng = random.Random(f"{seed}:{index}")
        (top_slug, top_name, _), (sub_slug, sub_name, nouns, materials, (low, high), kind, shape) = subcategories[
            index % len(subcategories)]
        material = rng.choice(materials)
        name = f"{rng.choice(NAMES)} {material} {rng.choice(nouns)}"
        slug = f"{name.lower().replace(' ', '-').replace(chr(39), '')}-{index + 1}"
        sku_base = f"{sub_slug[:3].upper()}-{seed}-{index + 1:06d}"
        base_price = _price(rng, low, high)
        axes = []
        for attribute, values in VARIANT_KINDS[kind]:
            values = values or rng.sample(COLOURS, rng.randint(2, 3))
            axes.append((attribute, values))
        combos: list[dict[str, str]] = [{}]
        for attribute, values in axes:
            combos = [{**combo, attribute: value} for combo in combos for value in values]
        variants = []
        for n, attributes in enumerate(combos, start=1):
            bump = Decimal("5.00") if attributes.get("size") == "XL" else Decimal(0)  # more cloth, dearer
            variants.append(VariantSpec(
                sku=f"{sku_base}-{n:02d}",
                name=" / ".join(attributes.values()) or "Standard",
                attributes=attributes,
                price=base_price + bump,
                on_hand=_stock(rng),
                weight=WEIGHTS_KG.get(sub_slug, Decimal("0.500")),  # not drawn: the seed's catalogue stays the same
            ))
        description = (
            f"The {name} is one of our {sub_name.lower()}. "
            + DESCRIPTIONS[top_slug].format(material=material.lower())
            + "\n\nCare: see label. Backed by our two-year guarantee."
        )
        yield ProductSpec(
            slug=slug,
            name=name,
            description=description,
            category_path=((top_slug, top_name), (sub_slug, sub_name)),
            variants=tuple(variants),
            image_jpeg=_image(rng, name, shape) if with_images else None,
            is_featured=rng.random() < 0.06,
        )
