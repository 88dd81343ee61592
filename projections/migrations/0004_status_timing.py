# When the current attempt started (the status's eta). Rows projected before this migration
# get it from their own history (the last Started event's time), so that `orders verify`
# finds no drift and no rebuild is needed.

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_started_at(apps, schema_editor):
    OrderSummary = apps.get_model("projections", "OrderSummary")
    OrderEvent = apps.get_model("projections", "OrderEvent")
    last_start = (
        OrderEvent.objects.filter(order_id=OuterRef("order_id"), type="Started")
        .order_by("-version")
        .values("timestamp")[:1]
    )
    OrderSummary.objects.filter(attempt__gt=0).update(started_at=Subquery(last_start))


class Migration(migrations.Migration):
    dependencies = [
        ("projections", "0003_archive_lease"),
    ]

    operations = [
        migrations.AddField(
            model_name="ordersummary",
            name="started_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(fill_started_at, migrations.RunPython.noop),
    ]
