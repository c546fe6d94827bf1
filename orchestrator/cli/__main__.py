"""`python -m orchestrator.cli`: drctl without the installed script."""

from orchestrator.cli.main import main

main()
