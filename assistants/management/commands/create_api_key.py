"""`python manage.py create_api_key USERNAME [--name NAME]`: prints the raw key last."""

from django.core.management.base import BaseCommand

from assistants.keys import api_key_create, user_get_or_create


class Command(BaseCommand):
    help = "Create an API key for USERNAME (creating the user if missing). The key is printed once, as the last line."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="default", help="a label for the key")

    def handle(self, *args, username: str, name: str, **options):
        user, created = user_get_or_create(username=username)
        if created:
            self.stdout.write(f"Created user {username!r}.")
        made = api_key_create(user=user, name=name)
        self.stdout.write(f"API key {made.key.prefix}… ({name}) for {username}. It is shown only now:")
        self.stdout.write(made.raw)
