"""Named callables for model field defaults (migrations need importable names)."""


def auto_default() -> str:
    return "auto"
