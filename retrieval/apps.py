from django.apps import AppConfig


class RetrievalConfig(AppConfig):
    """Vector stores, ingestion and search (the `file_search` tool's data)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "retrieval"
    verbose_name = "Retrieval"

    def ready(self) -> None:
        from django.apps import apps

        from retrieval import queueing, worker

        # Work queued by a request wakes (and if needed starts) this process's ingestion threads.
        queueing.on_work(worker.wake)

        if not apps.is_installed("files"):
            return
        from retrieval.services.files import detach_everywhere
        from retrieval.sources import connect_file_deletion

        # A deleted file leaves every store it was in.
        connect_file_deletion(detach_everywhere)
