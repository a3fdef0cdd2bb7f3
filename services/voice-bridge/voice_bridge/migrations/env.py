from servicekit.migrations import run_migrations_env
from voice_bridge.adapters.tables import metadata

run_migrations_env(metadata)
