"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from sqlalchemy import text

from namalms.extensions import db

pytestmark = pytest.mark.both_databases  # its behaviour depends on the database


# Alembic cannot reflect expression indexes on SQLite (it says so); the next test checks that one.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_models_and_migrations_agree(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_the_expression_index_for_sorting_by_name_exists(app):
    from sqlalchemy import inspect

    if db.engine.dialect.name == "sqlite":
        names = set(db.session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'index'")))
    else:
        names = {index["name"] for index in inspect(db.engine).get_indexes("user")}
    assert "ix_user_lower_name" in names
