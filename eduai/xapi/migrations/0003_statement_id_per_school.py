"""Statement ids unique per school (each school is its own LRS), no longer across schools.

The per-school constraint is added before the global one is dropped: every stored row already
satisfies it (ids were unique across all schools), so no data changes and no moment is left
without a uniqueness guard. The (school, voids) index serves the lookup of voiding statements
that arrived before their target, made on every stored batch.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("courses", "0001_initial"),
        ("xapi", "0002_course_alias"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="statement",
            constraint=models.UniqueConstraint(fields=("school", "statement_id"), name="xapi_statement_id_per_school"),
        ),
        migrations.AlterField(
            model_name="statement",
            name="statement_id",
            field=models.UUIDField(),
        ),
        migrations.AddIndex(
            model_name="statement",
            index=models.Index(fields=["school", "voids"], name="xapi_statem_school__da7bee_idx"),
        ),
    ]
