"""The audit log's append-only guard (urbangov.privacy.guard): triggers that refuse UPDATE and
DELETE on events, seals and checkpoints. A later migration that rebuilds one of these tables
(SQLite rebuilds a table for most ALTERs, dropping its triggers) must install them again."""

from typing import Any

from django.db import migrations

from urbangov.privacy import guard


def install(apps: Any, schema_editor: Any) -> None:
    for statement in guard.install_sql(schema_editor.connection.vendor):
        schema_editor.execute(statement, params=None)


def remove(apps: Any, schema_editor: Any) -> None:
    for statement in guard.remove_sql(schema_editor.connection.vendor):
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("privacy", "0001_initial")]

    operations = [migrations.RunPython(install, remove, elidable=False)]
