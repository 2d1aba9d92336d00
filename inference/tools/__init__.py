"""The built-in server-side tools: the seed's functions and the code interpreter.

Each function module registers itself with ``inference.registry.register_function``;
the registry imports them on first use (see ``registry.BUILTIN_MODULES``).
"""
