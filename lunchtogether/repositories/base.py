"""The generic async CRUD base every repository builds on. All SQL lives in `repositories/`.

Statements are Core statements over the mapped tables and rows come back as frozen
pydantic records: nothing above this layer holds an ORM instance that a rollback
could expire or a lazy load could touch. Reads run on every request are declared once,
as `PreparedRead`s: at import, or per repository class in `__init_subclass__`.

Writes (`create`, `update`, `delete`, and whatever goes through `_write`) run in the
mutation's transaction and the first one begins it; a read runs alone until then, and in
the transaction afterwards (`RequestDatabase` says why).
"""

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, TypeAdapter
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Executable,
    FromClause,
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
from lunchtogether.database import PreparedRead, RequestDatabase
from lunchtogether.models import Base
from lunchtogether.schemas.pagination import Keyset


class Listing:
    """The rows of a table meeting fixed conditions, in keyset pages (never OFFSET), and their count.

    Pages come newest first, ties broken by the larger id. The first page and a page after a
    given row are the two reads of a client paging through, each declared once; the conditions'
    values come as bind parameters.
    """

    def __init__(self, table: FromClause, *where: ColumnElement[bool]) -> None:
        columns = table.c
        rows = select(table).where(*where)
        last = tuple_(
            bindparam("after_created_at", type_=columns.created_at.type), bindparam("after_id", type_=columns.id.type)
        )
        self.first_page = PreparedRead(_newest_first(rows, table))
        self.page_after = PreparedRead(_newest_first(rows.where(tuple_(columns.created_at, columns.id) < last), table))
        self.count = select(func.count()).select_from(table).where(*where)


def _newest_first(rows: Select, table: FromClause) -> Select:
    return rows.order_by(table.c.created_at.desc(), table.c.id.desc()).limit(bindparam("limit"))


class Repository[RecordT: BaseModel]:
    model: ClassVar[type[Base]]
    record: type[RecordT]
    conflict_message: ClassVar[str] = ConflictError.default_message
    # The reads every repository has, declared once per table by `__init_subclass__`.
    _by_id: ClassVar[PreparedRead]
    _by_id_array: ClassVar[PreparedRead]
    _by_ids: ClassVar[Select]
    _all_rows: ClassVar[Listing]
    # A page's rows are validated in one pydantic-core call, not one call per row.
    _records: ClassVar[TypeAdapter[list[Any]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table = cls.model.__table__
        cls._by_id = PreparedRead(select(table).where(table.c.id == bindparam("id")))
        # PostgreSQL's form of a batch: the ids as one array, so one prepared statement serves any
        # number of them. The array goes as text[], which asyncpg encodes without asking the server
        # first (for uuid[] it looks the type up on every new connection: three more statements).
        ids = cast(bindparam("ids", type_=ARRAY(Text)), ARRAY(table.c.id.type))
        cls._by_id_array = PreparedRead(select(table).where(table.c.id == any_(ids)))
        # SQLite's form: a list SQLAlchemy expands into one parameter per id, which asyncpg could not take.
        cls._by_ids = select(table).where(table.c.id.in_(bindparam("ids", expanding=True)))
        cls._all_rows = Listing(table)
        cls._records = TypeAdapter(list[cls.record])  # ty: ignore[invalid-type-form] - the class is known here

    def __init__(self, db: RequestDatabase) -> None:
        self._db = db

    @property
    def table(self) -> Table:
        return self.model.__table__  # ty: ignore[invalid-explicit-return]

    async def get(self, *where: ColumnElement[bool]) -> RecordT | None:
        """The one row matching every condition, or None."""
        return await self._fetch_one(select(self.table).where(*where).limit(1))

    async def get_by_id(self, id: UUID) -> RecordT | None:
        return await self._fetch_one(self._by_id, {"id": id})

    async def get_by_ids(self, ids: Sequence[UUID]) -> list[RecordT]:
        if self._db.dialect_name == "postgresql":
            return await self._fetch_all(self._by_id_array, {"ids": [str(id) for id in ids]})
        return await self._fetch_all(self._by_ids, {"ids": list(ids)})

    async def get_multi(
        self,
        *,
        limit: int,
        after: Keyset | None = None,
        listing: Listing | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> list[RecordT]:
        """A page of `listing` (default: all rows), its conditions' values in `parameters`."""
        listing = listing or self._all_rows
        values = {"limit": limit, **(parameters or {})}
        if after is None:
            return await self._fetch_all(listing.first_page, values)
        values |= {"after_created_at": after.created_at, "after_id": after.id}
        return await self._fetch_all(listing.page_after, values)

    async def count(self, listing: Listing | None = None, parameters: Mapping[str, Any] | None = None) -> int:
        rows = await self._db.fetch((listing or self._all_rows).count, parameters)
        return rows[0]["count"]

    async def create(self, values: Mapping[str, Any]) -> RecordT:
        record = await self._write(insert(self.table).values(**values).returning(self.table))
        assert record is not None, "INSERT … RETURNING returns the row"
        return record

    async def update(self, id: UUID, values: Mapping[str, Any]) -> RecordT | None:
        return await self._write(update(self.table).where(self.table.c.id == id).values(**values).returning(self.table))

    async def delete(self, id: UUID) -> bool:
        statement = delete(self.table).where(self.table.c.id == id).returning(self.table.c.id)
        return bool(await self._db.fetch_in_transaction(statement))

    async def _write(self, statement: Executable) -> RecordT | None:
        """The row an INSERT or UPDATE … RETURNING wrote, in the mutation's transaction."""
        try:
            return self._first(await self._db.fetch_in_transaction(statement))
        except IntegrityError as exc:
            raise ConflictError(self.conflict_message) from exc

    async def _fetch_one(
        self, statement: Executable | PreparedRead, parameters: Mapping[str, Any] | None = None
    ) -> RecordT | None:
        return self._first(await self._db.fetch(statement, parameters))

    def _first(self, rows: Sequence[Mapping[str, Any]]) -> RecordT | None:
        return self.record.model_validate(rows[0]) if rows else None

    async def _fetch_all(
        self, statement: Executable | PreparedRead, parameters: Mapping[str, Any] | None = None
    ) -> list[RecordT]:
        # Validated in pydantic-core, which is faster than `model_construct`'s Python loop,
        # and a row that does not fit its record fails here rather than in a response.
        return self._records.validate_python(await self._db.fetch(statement, parameters))
