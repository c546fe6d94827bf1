"""The activity types the repository's pipelines use: ForEach, IfCondition and Wait (control.py),
GetMetadata (metadata.py) and Copy (copy.py); container.py checks and runs a list of them."""
