from django.conf import settings
from django.core.management.base import BaseCommand

from workspace import demo


class Command(BaseCommand):
    help = (
        "Register the demo model and write demo data (skipped when already there). The model goes into the embedded "
        "registry only: with an external MLFLOW_TRACKING_URI it is skipped unless --into-tracking-server (or "
        "STUDIO_SEED_EXTERNAL=1) asks for it."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--into-tracking-server",
            action="store_true",
            help="Also register the demo model (and its experiment) on the external tracking server.",
        )

    def handle(self, *args, **options):
        asked = options["into_tracking_server"] or settings.STUDIO_SEED_EXTERNAL
        demo.seed(self.stdout, into_tracking_server=asked)
