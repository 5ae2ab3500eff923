"""The migrations build exactly the schema of the models, from one head."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade

from webapp import create_app
from webapp.config import ROOT, TestConfig
from webapp.extensions import db


def test_migrations_have_a_single_head(app):
    script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
    assert len(script.get_heads()) == 1


def test_migrated_schema_equals_the_models(tmp_path, redis_url):
    app = create_app(TestConfig(tmp_path / "instance", redis_url=redis_url))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
        db.engine.dispose()
    assert differences == []
