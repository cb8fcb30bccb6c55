"""Persistence: SQLAlchemy models, engine and session, Alembic migrations, queries returning frames."""
