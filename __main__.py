"""Deploys the environment named by `orchestration:environment` (see Pulumi.yaml)."""
import importlib

import pulumi

from stacks import collector, config

collector.relax()

# Only the chosen environment's module is imported, and with it only the components it declares.
BUILDERS = {"local": "stacks.local", "cluster": "stacks.cluster", "sandbox": "stacks.sandbox"}

stack_config = config.load()
for output_name, value in importlib.import_module(BUILDERS[stack_config.environment]).build(stack_config).items():
    pulumi.export(output_name, value)

collector.keep_declared()
