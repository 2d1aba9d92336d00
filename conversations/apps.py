from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "conversations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The seed's InferenceBackend.process_conversation runs on the engine, which inference may not import.
        from conversations.engine import compat

        compat.install()
