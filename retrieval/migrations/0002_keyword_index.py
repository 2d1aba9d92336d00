"""The keyword index: FTS5 + triggers on SQLite, a tsvector column + GIN index on PostgreSQL."""

from django.db import migrations


def install(apps, schema_editor):
    from retrieval.search.backend import backend_for

    for statement in backend_for(schema_editor.connection.vendor).INSTALL:
        schema_editor.execute(statement)


def uninstall(apps, schema_editor):
    from retrieval.search.backend import backend_for

    for statement in backend_for(schema_editor.connection.vendor).UNINSTALL:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("retrieval", "0001_initial")]
    operations = [migrations.RunPython(install, uninstall)]
