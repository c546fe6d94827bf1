"""Azure AI Search service: the smoke and data checks its DR profile declares (components/ai_search.py).

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import data, smoke

COMPONENT = "ai_search"

CHECKS = (
    smoke(COMPONENT, "service-running", plane="management"),
    smoke(COMPONENT, "index-names-list"),
    smoke(COMPONENT, "search-top-1"),
    data(COMPONENT, "document-counts"),
    data(COMPONENT, "indexer-status"),
)
