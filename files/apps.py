from django.apps import AppConfig


class FilesConfig(AppConfig):
    """Uploaded and generated files (the `file-…` objects) and their storage."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "files"
    verbose_name = "Files"
