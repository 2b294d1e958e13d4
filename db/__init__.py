"""Database layer: typed SQLAlchemy models, engine/session factories and queries.

Imports neither pipeline nor app code.
"""
