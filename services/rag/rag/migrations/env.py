from rag.adapters.tables import metadata
from servicekit.migrations import run_migrations_env

run_migrations_env(metadata)
