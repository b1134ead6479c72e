"""Flask extensions, created unbound and wired in `create_app`."""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine

# Stable constraint names so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, connection_record) -> None:
    """SQLite: enforce foreign keys, use WAL so readers never block the writer, and let
    SQLAlchemy (not the sqlite3 module) open transactions, so savepoints work."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # The busy timeout comes from the connect argument `timeout` (config DATABASE_BUSY_TIMEOUT).
    cursor.close()


# Whether transactions opened now may write. Read-only views switch it off (see read_only).
_may_write: ContextVar[bool] = ContextVar("namalms_sqlite_may_write", default=True)


@event.listens_for(Engine, "begin")
def _begin_sqlite_immediately(connection) -> None:
    """SQLite: take the write lock when a transaction starts, unless the view only reads.

    A deferred transaction that reads and then writes fails at once ("database is locked")
    when another connection wrote in between; an immediate one waits its turn (busy_timeout).
    Requests are short, so serialising writers costs little and concurrent requests
    (double submits, simultaneous certificate issue) never see an error. Pages that only read
    (catalogue, module pages, /healthz, verification) begin deferred, so they run side by side.
    """
    if connection.dialect.name == "sqlite" and not connection.get_execution_options().get(_NO_TRANSACTION):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _may_write.get() else "BEGIN")


_NO_TRANSACTION = "namalms_no_transaction"


@contextmanager
def single_read():
    """A connection of its own for one read that needs no transaction (each statement on its own).

    For the login check of every request: it reads one row, so a transaction around it – BEGIN,
    COMMIT, and the session's bookkeeping for both – would cost more than the read itself, and a
    request answered from a kept page (namalms.page_memo) then never opens one at all. SQLite:
    no BEGIN is sent (the driver itself opens none, see _configure_sqlite); PostgreSQL: the
    driver's autocommit.
    """
    with db.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            yield connection.execution_options(**{_NO_TRANSACTION: True})
        else:
            yield connection.execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def reading():
    """Transactions begun inside only read: on SQLite they do not take the write lock."""
    token = _may_write.set(False)
    try:
        yield
    finally:
        _may_write.reset(token)


def read_only(view):
    """Mark a view as reading only: on SQLite its transaction does not take the write lock.

    A read-only view that needs a small write does it inside `write_transaction()`.
    """
    @wraps(view)
    def wrapped(*args, **kwargs):
        with reading():
            return view(*args, **kwargs)

    return wrapped
