"""Make sure a first admin user exists (used by `make run`).

On the first run it creates `admin` with a random password and an API key, prints both
once, and stores them in `.local/first-run-credentials.txt` (git-ignored).
"""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from assistants.keys import api_key_create

CREDENTIALS_FILE = settings.LOCAL_DIR / "first-run-credentials.txt"


class Command(BaseCommand):
    help = "Create the first admin user (random password + API key) if no superuser exists."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username: str, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            if CREDENTIALS_FILE.exists():
                self.stdout.write(f"Admin exists; first-run credentials are in {CREDENTIALS_FILE}.")
            return
        password = secrets.token_urlsafe(12)
        user = User.objects.create_superuser(username=username, email="", password=password)
        key = api_key_create(user=user, name="first-run")
        settings.LOCAL_DIR.mkdir(parents=True, exist_ok=True)
        CREDENTIALS_FILE.write_text(
            f"username: {username}\npassword: {password}\napi_key: {key.raw}\n", encoding="utf-8"
        )
        CREDENTIALS_FILE.chmod(0o600)
        self.stdout.write(self.style.SUCCESS("Created the first admin user. Shown once, also saved to " f"{CREDENTIALS_FILE}:"))
        self.stdout.write(f"  login:    {username} / {password}")
        self.stdout.write(f"  API key:  {key.raw}")
