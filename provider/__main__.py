"""The component provider other languages' SDKs talk to: every exported component, schema inferred."""
import sys
from importlib.metadata import version

from pulumi.provider import main

from components.cross_language import component_provider

if __name__ == "__main__":
    # What the SDK's component_provider_host does, with the schema's Go options added.
    main(component_provider(version("orchestration-components")), sys.argv[1:])
