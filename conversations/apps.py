from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "conversations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The seed's InferenceBackend.process_conversation runs on the engine, which inference may not import.
        from conversations.engine import compat

        compat.install()
        # A thread's first reply from a real model gets a model-written title, after the reply.
        from conversations.engine.completion import on_run_completed
        from conversations.services.titles import write_model_title

        on_run_completed(write_model_title)
