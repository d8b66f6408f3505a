import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from workspace import roles


class Command(BaseCommand):
    help = "Create the admin user on first start (DJANGO_SUPERUSER_USERNAME / DJANGO_SUPERUSER_PASSWORD, or a generated password)."

    def handle(self, *args, **options):
        User = get_user_model()
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "admin")
        if User.objects.filter(username=username).exists():
            self.stdout.write(f"Admin user '{username}' already exists.")
            return
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        generated = not password
        password = password or secrets.token_urlsafe(12)
        admin = User.objects.create_superuser(
            username=username, email=os.environ.get("DJANGO_SUPERUSER_EMAIL", ""), password=password
        )
        roles.assign(admin, roles.OWNER)  # a superuser is an Owner anyway: the group shows it in the admin
        if generated:
            self.stdout.write(
                self.style.WARNING(
                    f"\n  Created admin user '{username}' with password: {password}\n  (shown once; change it in the admin)\n"
                )
            )
        else:
            self.stdout.write(f"Created admin user '{username}'.")
