"""The policy pack `pulumi preview --policy-pack policy` runs; the rules are in rules.py."""
from pulumi_policy import EnforcementLevel, PolicyPack

from rules import POLICIES

PolicyPack(name="orchestration", enforcement_level=EnforcementLevel.MANDATORY, policies=list(POLICIES))
