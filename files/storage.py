"""Where file bytes live: the ``files`` alias of Django's STORAGES setting.

The default is a FileSystemStorage under ENTITIES_FILES_DIR; any Django storage backend
(django-storages' S3 one, for instance) is chosen by setting (docs/files.md). Entities
only uses ``save``, ``open``, ``delete``, ``exists``, ``listdir`` and ``get_modified_time``,
which every backend has.
"""

from __future__ import annotations

from django.core.files.storage import Storage, storages

STORAGE_ALIAS = "files"
INCOMING = ".incoming"  # FILE_UPLOAD_TEMP_DIR inside a FileSystemStorage (settings.py)


def files_storage() -> Storage:
    """The configured storage (one instance per process, as Django caches it)."""
    return storages[STORAGE_ALIAS]


def storage_name_for(file_id: str) -> str:
    """``ab/file-ab…``: two characters of the id shard the folder so no directory grows huge."""
    return f"{file_id[5:7]}/{file_id}"


def all_names(storage: Storage) -> list[str]:
    """Every stored name, one level of shard folders deep (the layout ``storage_name_for`` writes)."""
    names: list[str] = []
    try:
        folders, top_files = storage.listdir("")
    except FileNotFoundError:
        return names
    names.extend(name for name in top_files if name.startswith("file-"))
    for folder in folders:
        try:
            _, files = storage.listdir(folder)
        except FileNotFoundError:
            continue
        # INCOMING holds Django's temporary uploads: none has a row, so the sweep takes
        # those a crash left behind once they are old.
        names.extend(f"{folder}/{name}" for name in files if name.startswith("file-") or folder == INCOMING)
    return names
