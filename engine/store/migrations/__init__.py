"""The SQLite store's schema, as numbered SQL files applied in order (``NNNN_name.sql``).

A file, once released, never changes: a new version of the schema is a new file.
"""

__all__: list[str] = []
