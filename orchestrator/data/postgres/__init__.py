"""PostgreSQL's data path: the WAL archive, base backups, the physical restore to a point, and the logical one."""
