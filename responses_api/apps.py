from django.apps import AppConfig


class ResponsesApiConfig(AppConfig):
    name = "responses_api"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Responses API"
