"""Activity events' statement ids unique per course, no longer across all courses (and schools).

The per-course constraint is added before the global one is dropped: every stored row already
satisfies it (ids were unique across all courses), so no row changes and no moment is left
without a uniqueness guard. Its index leads with statement_id, so it also serves the lookups by
the id alone that the global unique index served. Building it reads the whole events table
(PostgreSQL holds writes to it meanwhile).
"""

import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("courses", "0001_initial"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="activityevent",
            constraint=models.UniqueConstraint(
                fields=("statement_id", "course"), name="uniq_event_statement_per_course"
            ),
        ),
        migrations.AlterField(
            model_name="activityevent",
            name="statement_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False),
        ),
    ]
