"""The service mesh's configuration: `consulMesh`, `meshProxy` and `meshEnvoyImage`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from components.mesh_sidecar import PROXIES
from stacks.config_values import ConfigValues


@dataclass(frozen=True)
class MeshConfig:
    """Consul's service mesh: every worker and the client behind a sidecar, calls allowed by intention only."""

    proxy: str
    """builtin (Consul's own, `consul connect proxy`) or envoy (`consul connect envoy`)."""
    envoy_image: Optional[str] = None
    """With envoy: an image holding both `consul` and `envoy` (Consul's image holds no Envoy)."""


def mesh_config(values: ConfigValues, environment: str) -> Optional[MeshConfig]:
    """The mesh's settings, or None where it is off; each key is checked whether or not the mesh is on."""
    on = values.boolean("consulMesh", default=False)
    if on and environment != "local":
        raise values.fail("consulMesh", f"the mesh runs in the local environment (dev) so far, not in {environment!r}")
    proxy = values.choice("meshProxy", PROXIES, default="builtin")
    envoy_image = values.image("meshEnvoyImage", default="") if values.text("meshEnvoyImage", default="") else None
    if proxy == "envoy" and envoy_image is None:
        raise values.fail("meshEnvoyImage", "is required with `meshProxy: envoy`: an image with both consul and envoy on its PATH")
    if proxy != "envoy" and envoy_image is not None:
        raise values.fail("meshEnvoyImage", f"is only read with `meshProxy: envoy`, and meshProxy is {proxy!r}")
    return MeshConfig(proxy=proxy, envoy_image=envoy_image) if on else None
