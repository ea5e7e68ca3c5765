"""Database engine, models registry and migrations."""
