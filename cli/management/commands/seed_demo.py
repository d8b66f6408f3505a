from django.core.management.base import BaseCommand

from workspace import demo


class Command(BaseCommand):
    help = "Register the demo model and write demo data (skipped when already there)."

    def handle(self, *args, **options):
        demo.seed(self.stdout)
