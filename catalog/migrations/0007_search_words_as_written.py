"""Search documents gain the words as written ('simple' configuration) beside their English stems, so every prefix
of a name's word finds the product; the documents already stored are rebuilt with the same statement the catalogue
uses (services._SEARCH_DOCUMENT_SQL), in batches."""

from django.db import migrations

DOCUMENTS_SQL = """
    UPDATE catalog_product p SET search_document =
        setweight(to_tsvector('english', p.name), 'A')
        || setweight(to_tsvector('english', coalesce(c.name, '') || ' ' || coalesce(parent.name, '')), 'B')
        || setweight(to_tsvector('english', coalesce((
               SELECT string_agg(a.value, ' ') FROM catalog_variant v, jsonb_each_text(v.attributes) a
               WHERE v.product_id = p.id), '')), 'B')
        || setweight(to_tsvector('english', p.description), 'C')
        || setweight(to_tsvector('simple', p.name), 'A')
        || setweight(to_tsvector('simple', coalesce(c.name, '') || ' ' || coalesce(parent.name, '')), 'B')
    FROM catalog_category c LEFT JOIN catalog_category parent ON parent.id = c.parent_id
    WHERE c.id = p.category_id AND p.id >= %s AND p.id < %s
"""


def rebuild(apps, schema_editor):
    Product = apps.get_model("catalog", "Product")
    last = Product.objects.order_by("-id").values_list("id", flat=True).first() or 0
    with schema_editor.connection.cursor() as cursor:
        for start in range(0, last + 1, 5000):
            cursor.execute(DOCUMENTS_SQL, [start, start + 5000])


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0006_product_permissions'),
    ]

    operations = [
        migrations.RunPython(rebuild, migrations.RunPython.noop, elidable=True),
    ]
