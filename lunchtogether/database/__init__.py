"""The database: the engine (`engine.py`), the one each request works in (`request_database.py`),
reads declared once and sent straight to asyncpg (`reads.py`), and where every statement is
observed (`statements.py`)."""

from lunchtogether.database.engine import Readiness, create_engine, ping
from lunchtogether.database.reads import PreparedRead
from lunchtogether.database.request_database import Database, RequestDatabase
from lunchtogether.database.statements import ExecutedStatement, StatementObserver

__all__ = [
    "Database",
    "ExecutedStatement",
    "PreparedRead",
    "Readiness",
    "RequestDatabase",
    "StatementObserver",
    "create_engine",
    "ping",
]
