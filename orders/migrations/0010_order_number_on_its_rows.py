# An order's rows carry its number (the distribution column of docs/SCALING.md's plan), filled from their order,
# and a foreign key on (order_number, order_id) keeps the two naming the same order.

from django.db import migrations, models

CHILDREN = ("orders_orderline", "orders_orderrefund", "orders_orderemail", "orders_orderevent")


def _fill_and_tie(table: str) -> migrations.RunSQL:
    return migrations.RunSQL(
        sql=[f"UPDATE {table} AS child SET order_number = o.number FROM orders_order AS o WHERE o.id = child.order_id",
             f"ALTER TABLE {table} ADD CONSTRAINT {table}_order_number_fk FOREIGN KEY (order_number, order_id) "
             "REFERENCES orders_order (number, id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED"],
        reverse_sql=[f"ALTER TABLE {table} DROP CONSTRAINT {table}_order_number_fk"],
    )


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0009_order_email'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='order',
            constraint=models.UniqueConstraint(fields=('number', 'id'), name='order_number_id'),
        ),
        *(migrations.AddField(
            model_name=model,
            name='order_number',
            field=models.CharField(default='', editable=False, max_length=20),
            preserve_default=False,
        ) for model in ('orderline', 'orderrefund', 'orderemail', 'orderevent')),
        *(_fill_and_tie(table) for table in CHILDREN),
    ]
