from django.db import migrations

DEFAULTS = {
    "emergency": (2, 1),
    "utility": (24, 4),
    "ordinary": (7 * 24, 24),
    "complex": (15 * 24, 48),
}


def forwards(apps, schema_editor):
    SlaPolicy = apps.get_model("org", "SlaPolicy")
    for urgency, (resolve, respond) in DEFAULTS.items():
        SlaPolicy.objects.get_or_create(
            urgency=urgency, defaults={"resolve_hours": resolve, "response_hours": respond}
        )


class Migration(migrations.Migration):
    dependencies = [("org", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
