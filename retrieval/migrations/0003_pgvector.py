"""pgvector, where the PostgreSQL server has it: the extension and a `vector` column on chunks.

Without the extension (SQLite, or PostgreSQL without pgvector) this does nothing and
search stays on the in-process numpy index. Installing pgvector later: run
`manage.py migrate retrieval 0002 && manage.py migrate retrieval` to add the column, then
re-index the stores (admin action) so their vectors are copied into it.
"""

from django.db import migrations


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from retrieval.search import pgvector

    with schema_editor.connection.cursor() as cursor:
        pgvector.install(cursor)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from retrieval.search import pgvector

    for statement in pgvector.DROP_SQL:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("retrieval", "0002_keyword_index")]
    operations = [migrations.RunPython(install, uninstall)]
