"""An index on a coarse cell of a case's point (0.01 degree, about 1 km) and its time, then the
point itself (so that the few hundred metres asked for are checked in the index, not in the
table's rows).

The dispatcher's duplicate search (``urbangov.dispatch.engine.find_duplicate``) asks for the
open cases of the last days within a few hundred metres of a new one; with only the time
index it read every case of those days, inside the request. The cell's expression here and
the one in that query must stay the same text, or neither database uses the index.
Written as SQL because the expression must be the one the query writes out by hand; both
SQLite and PostgreSQL accept it.
"""

from django.db import migrations

CELL = 'CAST(("lat" + 90) * 100 AS BIGINT) * 100000 + CAST(("lon" + 180) * 100 AS BIGINT)'


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0002_extension_withdrawn"),
    ]

    operations = [
        migrations.RunSQL(
            f'CREATE INDEX "cases_case_place_cell_idx" ON "cases_case" '
            f'(({CELL}), "created_at", "lat", "lon")',
            'DROP INDEX "cases_case_place_cell_idx"',
        ),
    ]
