"""QuerySets compiled to SQL once per process, then run with new values.

Building and compiling a small QuerySet cost two to three times the Python CPU of running its
SQL and reading the rows (bench/RESULTS.md, issue 17), so the hot reads of the APIs compile theirs
once: `CompiledQuery(build, owner=int, domain=str)` calls `build` with placeholder values of
those types, keeps the SQL and where each placeholder landed among its parameters, and each
call runs that SQL with the real values and builds the rows as the QuerySet would: instances
(`select_related` ones attached) or, for `values()`, dicts; the columns' converters applied.
`build` is ordinary ORM code, so scoping through core.tenancy stays where it is.
"""

from collections.abc import Callable
from dataclasses import dataclass
from itertools import count
from typing import Any, Generic, TypeVar

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, ValuesIterable, get_related_populators
from django.db.models.sql import Query
from django.db.models.sql.compiler import SQLCompiler

Row = TypeVar("Row")

# Placeholder values no real parameter takes: negative ids, and strings with a NUL character
# (which PostgreSQL refuses in any text value, so a real value never has one).
_placeholder_numbers = count(-7_300_001, -1)


def _placeholder(kind: type) -> object:
    number = next(_placeholder_numbers)
    if kind is int:
        return number
    if kind is str:
        return f"\x00placeholder{number}"
    raise TypeError(f"CompiledQuery parameters are int or str, not {kind.__name__}")


def _instance_maker(compiler: SQLCompiler, database: str) -> Callable[[list[Any]], Any]:
    """What ModelIterable does with a row: the model's instance, select_related ones attached."""
    select, klass_info = compiler.select, compiler.klass_info
    assert klass_info is not None
    model: type[Model] = klass_info["model"]
    select_fields = klass_info["select_fields"]
    start, end = select_fields[0], select_fields[-1] + 1
    init_list = [column[0].target.attname for column in select[start:end]]
    # The stubs describe Django 6's signature (a fetch mode); Django 5.2 takes three.
    populators = get_related_populators(klass_info, select, database)  # type: ignore[call-arg]

    def instance(row: list[Any]) -> Model:
        made = model.from_db(database, init_list, row[start:end])
        for populator in populators:
            populator.populate(row, made)
        return made

    return instance


def _dict_maker(query: Query) -> Callable[[list[Any]], Any]:
    """What ValuesIterable does with a row."""
    if query.selected:
        names = list(query.selected)
    else:
        names = [*query.extra_select, *query.values_select, *query.annotation_select]
    return lambda row: dict(zip(names, row, strict=True))


@dataclass(frozen=True)
class _Compiled:
    database: str
    sql: str
    params: tuple[Any, ...]
    slots: dict[str, list[int]]
    converters: list[tuple[int, tuple[list[Callable[..., Any]], Any]]]
    make_row: Callable[[list[Any]], Any]


class CompiledQuery(Generic[Row]):
    def __init__(self, build: Callable[..., QuerySet[Any, Row]], **kinds: type) -> None:
        self._build = build
        self._kinds = kinds
        self._compiled: _Compiled | None = None

    def _compile(self) -> _Compiled:
        placeholders = {name: _placeholder(kind) for name, kind in self._kinds.items()}
        queryset = self._build(**placeholders)
        query = queryset.query
        compiler = query.get_compiler(using=queryset.db)
        sql, params = compiler.as_sql()
        if queryset._iterable_class is ModelIterable and not query.annotations:
            make_row = _instance_maker(compiler, queryset.db)
        elif queryset._iterable_class is ValuesIterable:
            make_row = _dict_maker(query)
        else:
            raise TypeError("CompiledQuery runs model QuerySets (with select_related) or values()")
        slots = {
            name: [index for index, param in enumerate(params) if param == placeholder]
            for name, placeholder in placeholders.items()
        }
        missing = [name for name, indexes in slots.items() if not indexes]
        if missing:
            raise ValueError(f"CompiledQuery: {', '.join(missing)} not among the SQL parameters")
        expressions = [column[0] for column in compiler.select[: compiler.col_count]]
        return _Compiled(
            database=queryset.db,
            sql=sql,
            params=tuple(params),
            slots=slots,
            converters=list(compiler.get_converters(expressions).items()),
            make_row=make_row,
        )

    def __call__(self, **values: int | str) -> list[Row]:
        """The rows the QuerySet built with these values would give, in its order."""
        if self._compiled is None:
            self._compiled = self._compile()
        compiled = self._compiled
        if values.keys() != compiled.slots.keys():
            raise TypeError(f"CompiledQuery takes {', '.join(compiled.slots)}, as keywords")
        params = list(compiled.params)
        for name, value in values.items():
            for index in compiled.slots[name]:
                params[index] = value
        connection = connections[compiled.database]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            fetched = cursor.fetchall()
        rows = []
        for fetched_row in fetched:
            row = list(fetched_row)
            for position, (converters, expression) in compiled.converters:
                for converter in converters:
                    row[position] = converter(row[position], expression, connection)
            rows.append(compiled.make_row(row))
        return rows
