"""`/v1/files`: upload (multipart), list, retrieve, delete, content."""

from __future__ import annotations

from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response

from files import validation
from files.download import file_download_response
from files.limits import LimitedUploadHandler
from files.presenters import file_deleted, file_object
from files.selectors import file_get_for_user, file_list, page_params
from files.services import file_create, file_delete, quota_left
from kernel.api.views import V1APIView
from kernel.envelopes import list_object
from kernel.errors import InvalidRequest


def _quota_of(django_request) -> tuple[int | None, int]:
    """The authenticated user's room (DRF has set ``user`` on the Django request by then)."""
    user = getattr(django_request, "user", None)
    if user is None or not user.is_authenticated:
        return None, 0
    return quota_left(user)


class FileListView(V1APIView):
    parser_classes = [MultiPartParser, JSONParser]

    def get(self, request):
        files, has_more = file_list(user=request.user, page=page_params(request.query_params),
                                    purpose=request.query_params.get("purpose") or None)
        return Response(list_object([file_object(f) for f in files], has_more))

    def initialize_request(self, request, *args, **kwargs):
        # Before anything reads the body (a session's CSRF check parses the form during
        # authentication): the upload then streams through this handler only.
        if request.method == "POST":
            request.upload_handlers = [LimitedUploadHandler(request, quota=lambda: _quota_of(request))]
        return super().initialize_request(request, *args, **kwargs)

    def post(self, request):
        if not request.content_type.startswith("multipart/form-data"):
            raise InvalidRequest("Upload the file as multipart/form-data with the fields 'file' and 'purpose'.",
                                 code="unsupported_media_type")
        form = request.data
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidRequest("Missing required parameter: 'file'.", param="file", code="missing_required_parameter")
        try:
            purpose = validation.upload_purpose(form.get("purpose"))
            seconds = validation.expires_after(form)
            file = file_create(user=request.user, content=upload, filename=upload.name, purpose=purpose,
                               expires_after_seconds=seconds, content_type=upload.content_type)
        finally:
            upload.close()  # the temporary copy (a stored file was moved or copied away)
        return Response(file_object(file))


class FileDetailView(V1APIView):
    def get(self, request, file_id: str):
        return Response(file_object(file_get_for_user(user=request.user, file_id=file_id)))

    def delete(self, request, file_id: str):
        file_delete(file=file_get_for_user(user=request.user, file_id=file_id))
        return Response(file_deleted(file_id))


class FileContentView(V1APIView):
    def get(self, request, file_id: str):
        file = file_get_for_user(user=request.user, file_id=file_id)
        return file_download_response(file)
