"""The drctl-coverage policy pack: `pulumi preview --policy-pack policy/` runs this file (README.md).

The policies are orchestrator/policy/pack.py's: they call the rules `drctl coverage` runs."""

import sys
from pathlib import Path

# The rules of this checkout, whatever copy of drctl the virtualenv may hold: the pack and the
# program it judges come from the same commit.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import PolicyPack

from orchestrator.policy.pack import DESCRIPTION, ENFORCEMENT, PACK_NAME, policies

PolicyPack(name=PACK_NAME, policies=policies(), enforcement_level=ENFORCEMENT, description=DESCRIPTION)
