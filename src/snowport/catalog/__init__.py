"""The catalog: every Snowport object and grant, persisted in SQLite through SQLAlchemy."""
