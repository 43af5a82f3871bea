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
    """The mesh's settings, or None where it is off; each key is checked whether or not the mesh is on.

    On by default in the cluster, where the workers are reached across hosts; off in dev, the quick
    local loop. The sandbox runs only the hosts (no Consul): the mesh is the cluster stack's on them."""
    if environment == "sandbox" and values.text("consulMesh", default=""):
        raise values.fail("consulMesh", "the sandbox runs only the hosts: set it on the cluster stack deployed on them (on by default there)")
    on = values.boolean("consulMesh", default=environment == "cluster")
    proxy = values.choice("meshProxy", PROXIES, default="builtin")
    envoy_image = values.image("meshEnvoyImage", default="") if values.text("meshEnvoyImage", default="") else None
    if proxy == "envoy" and envoy_image is None:
        raise values.fail("meshEnvoyImage", "is required with `meshProxy: envoy`: an image with both consul and envoy on its PATH")
    if proxy != "envoy" and envoy_image is not None:
        raise values.fail("meshEnvoyImage", f"is only read with `meshProxy: envoy`, and meshProxy is {proxy!r}")
    return MeshConfig(proxy=proxy, envoy_image=envoy_image) if on else None
