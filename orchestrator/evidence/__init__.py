"""The run's evidence as something an auditor can hold against a deliberate edit: the SHA256SUMS seal
signed (keys.py, keyvault.py, signatures.py), approvals recorded later signed as addenda chained to
it (chain.py), checked without following a symlink (verify.py), and copied to a version-level WORM
blob container (publish.py)."""
