"""The generic async CRUD base every repository builds on. All SQL lives in `repositories/`.

Statements are Core statements over the mapped tables and rows come back as frozen
pydantic records: nothing above this layer holds an ORM instance that a rollback
could expire or a lazy load could touch.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Executable,
    Select,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError

from lunchtogether.core.exceptions import ConflictError
from lunchtogether.database import RequestDatabase, reused
from lunchtogether.models import Base


@dataclass(frozen=True, slots=True)
class Keyset:
    """Where a page ends: rows come newest first, ties broken by the larger id."""

    created_at: datetime
    id: UUID


class Repository[RecordT: BaseModel]:
    model: ClassVar[type[Base]]
    record: type[RecordT]
    conflict_message: ClassVar[str] = ConflictError.default_message

    def __init__(self, db: RequestDatabase) -> None:
        self._db = db

    @property
    def table(self) -> Table:
        return self.model.__table__  # ty: ignore[invalid-explicit-return]

    async def get(self, *where: ColumnElement[bool]) -> RecordT | None:
        """The one row matching every condition, or None."""
        return await self._fetch_one(select(self.table).where(*where).limit(1))

    async def get_by_id(self, id: UUID) -> RecordT | None:
        return await self._fetch_one(_by_id(self.table), {"id": id})

    async def get_by_ids(self, ids: Sequence[UUID]) -> list[RecordT]:
        if self._db.dialect_name == "postgresql":
            return await self._fetch_all(_by_id_array(self.table), {"ids": [str(id) for id in ids]})
        return await self._fetch_all(_by_ids(self.table), {"ids": list(ids)})

    async def get_multi(
        self,
        *,
        limit: int,
        after: Keyset | None = None,
        where: tuple[ColumnElement[bool], ...] = (),
        parameters: Mapping[str, Any] | None = None,
    ) -> list[RecordT]:
        """A page in keyset order (never OFFSET): newest first, then by id.

        `where` holds conditions built once, with bind parameters given in `parameters`.
        """
        values = {"limit": limit, **(parameters or {})}
        if after is not None:
            values |= {"after_created_at": after.created_at, "after_id": after.id}
        return await self._fetch_all(_page(self.table, where, after is not None), values)

    async def count(
        self, where: tuple[ColumnElement[bool], ...] = (), parameters: Mapping[str, Any] | None = None
    ) -> int:
        async with self._db.connection() as connection:
            return (await connection.execute(_count(self.table, where), parameters)).scalar_one()

    async def create(self, values: Mapping[str, Any]) -> RecordT:
        record = await self._write(insert(self.table).values(**values).returning(self.table))
        assert record is not None, "INSERT … RETURNING returns the row"
        return record

    async def update(self, id: UUID, values: Mapping[str, Any]) -> RecordT | None:
        return await self._write(update(self.table).where(self.table.c.id == id).values(**values).returning(self.table))

    async def delete(self, id: UUID) -> bool:
        statement = delete(self.table).where(self.table.c.id == id).returning(self.table.c.id)
        async with self._db.connection(write=True) as connection:
            return (await connection.execute(statement)).first() is not None

    async def _write(self, statement: Executable) -> RecordT | None:
        try:
            return await self._fetch_one(statement, write=True)
        except IntegrityError as exc:
            raise ConflictError(self.conflict_message) from exc

    async def _fetch_one(
        self, statement: Executable, parameters: Mapping[str, Any] | None = None, *, write: bool = False
    ) -> RecordT | None:
        rows = await self._db.fetch(statement, parameters, write=write)
        return self.record.model_validate(rows[0]) if rows else None

    async def _fetch_all(self, statement: Executable, parameters: Mapping[str, Any] | None = None) -> list[RecordT]:
        # Validated in pydantic-core: a third of the cost of `model_construct`'s Python loop,
        # and a row that does not fit its record fails here rather than in a response.
        return [self.record.model_validate(row) for row in await self._db.fetch(statement, parameters)]


# Statements are built once per table and shape, with bind parameters for the values:
# building and hashing a statement costs as much as running it.
@cache
def _by_id(table: Table) -> Select:
    return reused(select(table).where(table.c.id == bindparam("id")))


@cache
def _by_ids(table: Table) -> Select:
    # Not `reused`: an expanded list is SQLAlchemy's to render; PostgreSQL takes `_by_id_array`.
    return select(table).where(table.c.id.in_(bindparam("ids", expanding=True)))


@cache
def _by_id_array(table: Table) -> Select:
    """PostgreSQL's form: the ids as one array, so one prepared statement serves any number of them.

    The array goes as text[], which asyncpg encodes without asking the server first (for
    uuid[] it looks the type up on every new connection: three more statements).
    """
    ids = cast(bindparam("ids", type_=ARRAY(Text)), ARRAY(table.c.id.type))
    return reused(select(table).where(table.c.id == any_(ids)))


@lru_cache(maxsize=64)
def _page(table: Table, where: tuple[ColumnElement[bool], ...], after: bool) -> Select:
    columns = table.c
    statement = select(table).where(*where)
    if after:
        last = tuple_(
            bindparam("after_created_at", type_=columns.created_at.type), bindparam("after_id", type_=columns.id.type)
        )
        statement = statement.where(tuple_(columns.created_at, columns.id) < last)
    return reused(statement.order_by(columns.created_at.desc(), columns.id.desc()).limit(bindparam("limit")))


@lru_cache(maxsize=64)
def _count(table: Table, where: tuple[ColumnElement[bool], ...]) -> Select:
    return select(func.count()).select_from(table).where(*where)
