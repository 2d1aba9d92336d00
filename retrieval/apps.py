from django.apps import AppConfig


class RetrievalConfig(AppConfig):
    """Vector stores, ingestion and search (the `file_search` tool's data)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "retrieval"
    verbose_name = "Retrieval"
