"""The sharding plan (docs/SCALING.md) against the real, migrated schema: what the plan needs of the tables stays
true as the apps change (every table placed, the distribution column on every distributed row, foreign and unique
keys Citus can keep, and the checkout's statement routable by the order number)."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from orders import checkout

PLAN_DOC = Path(__file__).resolve().parents[2] / "docs" / "SCALING.md"
# Unique keys the plan widens on the day to include the distribution column (docs/SCALING.md, "What changes on the
# day"); any other unique key of a distributed table must include it already.
WIDENED_ON_THE_DAY = {("orders_orderrefund", ("key",)), ("orders_orderemail", ("key",))}

pytestmark = pytest.mark.django_db


def plan() -> dict[str, dict]:
    """The plan's table: {table: {schema, placement, column, group}}."""
    rows = {}
    for line in PLAN_DOC.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[2] in ("distributed", "reference", "local"):
            schema, table, placement, column, group = cells
            assert table not in rows, f"{table} is placed twice in docs/SCALING.md"
            rows[table] = {"schema": schema, "placement": placement, "column": column or None, "group": group or None}
    return rows


def _rows(sql: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _app_tables() -> dict[str, str]:
    return dict(_rows("SELECT table_name, table_schema FROM information_schema.tables "
                      "WHERE table_type = 'BASE TABLE' AND table_schema = ANY(%s)", [settings.APP_SCHEMAS]))


def _foreign_keys() -> list[tuple]:
    """(schema, table, columns, referenced schema, referenced table, referenced columns) of every foreign key whose
    table is in an app's schema, columns in key order."""
    return [(s, t, tuple(cols), rs, rt, tuple(rcols)) for s, t, cols, rs, rt, rcols in _rows("""
        SELECT ns.nspname, cl.relname,
               array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i),
               rns.nspname, rcl.relname,
               array(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                     JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i)
        FROM pg_constraint c
        JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_namespace ns ON ns.oid = cl.relnamespace
        JOIN pg_class rcl ON rcl.oid = c.confrelid JOIN pg_namespace rns ON rns.oid = rcl.relnamespace
        WHERE c.contype = 'f' AND ns.nspname = ANY(%s)""", [settings.APP_SCHEMAS])]


def test_the_plan_places_every_table_of_every_apps_schema_and_no_other():
    placed, real = plan(), _app_tables()
    assert placed, "docs/SCALING.md has the plan's table"
    assert sorted(set(real) - set(placed)) == [], "place these tables in docs/SCALING.md's plan"
    assert sorted(set(placed) - set(real)) == [], "the plan names tables the schema does not have"
    assert {table: row["schema"] for table, row in placed.items()} == real


def test_distributed_tables_carry_their_column_not_null_and_each_group_shares_its_type():
    columns = {(table, column): (nullable, kind) for table, column, nullable, kind in _rows(
        "SELECT table_name, column_name, is_nullable, data_type FROM information_schema.columns "
        "WHERE table_schema = ANY(%s)", [settings.APP_SCHEMAS])}
    types: dict[str, set[str]] = {}
    for table, row in plan().items():
        if row["placement"] != "distributed":
            assert row["column"] is None and row["group"] is None, table
            continue
        assert row["column"] and row["group"], f"{table}: a distributed table names its column and group"
        nullable, kind = columns.get((table, row["column"]), (None, None))
        assert kind is not None, f"{table} has no column {row['column']}"
        assert nullable == "NO", f"{table}.{row['column']} may be NULL: such a row would have no shard"
        types.setdefault(row["group"], set()).add(kind)
    assert all(len(kinds) == 1 for kinds in types.values()), types


def test_foreign_keys_stay_in_their_app_and_are_ones_citus_can_keep():
    placed = plan()
    keys = _foreign_keys()
    assert keys, "the apps have foreign keys to check"
    problems = []
    for schema, table, _cols, ref_schema, ref_table, _ref_cols in keys:
        if ref_schema != schema:
            problems.append(f"{table} -> {ref_schema}.{ref_table}: crosses from one app's schema to another's")
            continue
        child, parent = placed[table], placed[ref_table]
        if parent["placement"] == "reference":
            continue  # every node has a copy
        if child["placement"] != "distributed":
            if parent["placement"] == "distributed":
                problems.append(f"{table} ({child['placement']}) -> {ref_table} (distributed)")
            continue
        if parent["placement"] != "distributed" or parent["group"] != child["group"]:
            problems.append(f"{table} -> {ref_table}: not in its co-location group")
            continue
        # Citus keeps a foreign key between co-located tables only if it includes the distribution column at both
        # ends: some key between the two must pair them (Django's own key on order_id alone may stay beside it).
        pairs = [dict(zip(c, rc, strict=True)) for _, t, c, _, rt, rc in keys if (t, rt) == (table, ref_table)]
        if not any(pair.get(child["column"]) == parent["column"] for pair in pairs):
            problems.append(f"{table} -> {ref_table}: no foreign key on ({child['column']}, ...) -> "
                            f"({parent['column']}, ...)")
    assert problems == []


def test_unique_keys_of_distributed_tables_include_the_distribution_column():
    unique = _rows("""
        SELECT t.relname, i.indisprimary,
               array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(n, o)
                     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o)
        FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace ns ON ns.oid = t.relnamespace
        WHERE i.indisunique AND ns.nspname = ANY(%s)""", [settings.APP_SCHEMAS])
    placed = plan()
    wrong = []
    for table, primary, cols in unique:
        row = placed[table]
        if row["placement"] != "distributed" or row["column"] in cols:
            continue
        if (primary and cols == ["id"]) or (table, tuple(cols)) in WIDENED_ON_THE_DAY:
            continue  # the primary key becomes (column, id) on the day; the others as docs/SCALING.md says
        wrong.append(f"{table} unique on {cols} without {row['column']}")
    assert wrong == []


def _inserts(sql: str) -> list[tuple[str, dict[str, str]]]:
    """Each ``INSERT INTO table (columns) SELECT expressions`` of a statement: the table and, per column, the
    expression that gives it."""
    found = []
    for table, columns, expressions in re.findall(r"INSERT INTO (\w+)(?: AS \w+)?\s*\(([^)]*)\)\s*SELECT (.*?)\sFROM\s",
                                                  sql, flags=re.S):
        names = [c.strip() for c in columns.split(",")]
        values = [e.strip() for e in expressions.split(",")]
        assert len(names) == len(values), f"cannot read the INSERT into {table}"
        found.append((table, dict(zip(names, values, strict=True))))
    return found


def test_the_checkouts_statement_routes_every_distributed_row_by_the_order_number():
    placed = plan()
    inserts = _inserts(checkout._CREATE_ORDER_SQL)
    written = {table for table, _ in inserts}
    assert {"orders_order", "orders_orderline", "orders_orderevent"} <= written, "the statement was read"
    for table, values in inserts:
        row = placed[table]
        if row["placement"] == "distributed":
            assert values.get(row["column"]) == "%(number)s", (
                f"{table}.{row['column']} must come from the order number given to the statement, not from a "
                f"value another insert returns (got {values.get(row['column'])!r})")
