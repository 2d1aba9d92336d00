"""The chat UI's routes (mounted at the root by entities_project.urls)."""

from django.conf import settings
from django.urls import path

from conversations import ui_views

urlpatterns = [
    path("", ui_views.chat_index, name="chat"),
    path("c/<str:thread_id>", ui_views.chat_index, name="chat-thread"),
    path("login/", ui_views.LoginView.as_view(), name="login"),
    path("logout/", ui_views.LogoutView.as_view(), name="logout"),
    path("ui/functions", ui_views.function_list, name="ui-functions"),
    path("ui/backends", ui_views.backend_list, name="ui-backends"),
    path("ui/threads/<str:thread_id>/history", ui_views.thread_history, name="ui-thread-history"),
    path("ui/threads/<str:thread_id>/export", ui_views.thread_export, name="ui-thread-export"),
    path("ui/threads/<str:thread_id>/versions", ui_views.thread_version_select, name="ui-thread-versions"),
]

# Static files are the project's to serve (no whitenoise, no CDN), DEBUG or not — unless
# STATIC_URL points at another host, which then serves them.
if settings.STATIC_URL.startswith("/"):
    urlpatterns.append(path(f"{settings.STATIC_URL.strip('/')}/<path:path>", ui_views.static_file, name="static"))
