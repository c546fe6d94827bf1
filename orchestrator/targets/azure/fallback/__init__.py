"""The azure target of a fallback: its steps, and switching users back to the primary region."""
