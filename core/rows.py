"""Writing a new model row without the ORM's query compiler, for the hottest paths.

`insert_row(instance)` does what `instance.save()` does for a new row of a plain model (no
parents, no signals wanted), with SQL built once per model: the ORM spends more CPU compiling
an INSERT than PostgreSQL spends running it (bench/RESULTS.md, "Accept path").
"""

from functools import cache
from typing import cast

from django.db import connections
from django.db.models import Field, Model


@cache
def _insert_sql(model: type[Model], using: str) -> tuple[str, tuple[Field, ...]]:
    quote = connections[using].ops.quote_name
    fields = tuple(field for field in model._meta.concrete_fields if not field.primary_key)
    # Names from the model's own metadata, values as parameters: nothing from outside. A
    # SELECT, not VALUES, so that a condition can be added (`only_if`).
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} "
        f"({', '.join(quote(cast(str, field.column)) for field in fields)}) "
        f"SELECT {', '.join(['%s'] * len(fields))}"
    )
    return sql, fields


def insert_row(
    instance: Model, *, only_if: tuple[str, list] | None = None, using: str = "default"
) -> bool:
    """INSERT `instance` as a new row (every concrete field but its auto primary key, which is
    set from the database). Sends no signals.

    `only_if`: (SQL of a query, its parameters): the row is written only if that query finds a
    row, decided in the same statement. Returns whether the row was written.
    """
    connection = connections[using]
    sql, fields = _insert_sql(type(instance), using)
    values = [
        field.get_db_prep_save(field.pre_save(instance, add=True), connection) for field in fields
    ]
    if only_if is not None:
        condition, condition_values = only_if
        sql = f"{sql} WHERE EXISTS ({condition})"
        values += condition_values
    with connection.cursor() as cursor:
        cursor.execute(
            f"{sql} RETURNING {connection.ops.quote_name(cast(str, instance._meta.pk.column))}",
            values,
        )
        row = cursor.fetchone()
    if row is None:
        return False
    (instance.pk,) = row
    instance._state.adding = False
    instance._state.db = using
    return True
