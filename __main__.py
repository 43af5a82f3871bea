"""Deploys the environment named by `orchestration:environment` (see Pulumi.yaml)."""
import pulumi

from stacks import cluster, collector, config, local, sandbox

collector.relax()

BUILDERS = {"local": local.build, "cluster": cluster.build, "sandbox": sandbox.build}

stack_config = config.load()
for output_name, value in BUILDERS[stack_config.environment](stack_config).items():
    pulumi.export(output_name, value)

collector.keep_declared()
