"""Encrypted backups of the database and the uploaded photos, and their restore.

    flask --app apoa backup create [--output FILE]
    flask --app apoa backup restore FILE

services.py does the work, encryption.py defines the file format (AES-256-GCM in chunks),
postgres.py runs pg_dump and pg_restore and reads the figures the manifest records.
"""
