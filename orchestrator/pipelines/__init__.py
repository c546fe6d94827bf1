"""The local pipeline runner: runs the repository's Data Factory pipelines (pipelines/*.json and
pipelines/datasets/*.json, read by the program's own loader) against the local region pair's Azurite.

It is not Data Factory and never says it is: its evidence names it `runner: "local pipeline runner"`.
It implements exactly what the repository's pipelines use (expressions/, activities/, datasets.py)
and refuses anything else with one line naming it, when the definitions are loaded (definitions.py),
so a pipeline that uses something new fails a local drill loudly instead of being half-run.
"""

RUNNER = "local pipeline runner"
