"""The Pulumi program: `pulumi up --stack primary|secondary` runs this from the repository root."""

from stacks.program import main

main()
