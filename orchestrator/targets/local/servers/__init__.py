"""The local emulator servers (Azurite, embedded PostgreSQL) and their processes."""
