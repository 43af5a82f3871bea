"""The component provider other languages' SDKs talk to: every exported component, schema inferred."""
from importlib.metadata import version

from pulumi.provider.experimental import component_provider_host

from components.cross_language import COMPONENTS, PACKAGE

if __name__ == "__main__":
    component_provider_host(components=COMPONENTS, name=PACKAGE, version=version("orchestration-components"))
