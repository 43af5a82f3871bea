"""Values declared in the form a Docker engine reports them back.

pulumi-docker diffs the program's inputs against what it last read from the engine, and `pulumi up
--refresh` reads again. Where the engine fills in or rewrites a value, declaring it the engine's way
keeps a refresh (after a reboot, say) from proposing a change, and for the ForceNew fields below
from replacing the network or container and everything on it.
"""
from __future__ import annotations

import ipaddress
from typing import Optional

import pulumi_docker as docker


def default_gateway(subnet: str, ip_range: Optional[str] = None) -> str:
    """The address Docker's default IPAM gives the gateway when none is asked for: the first of the
    pool (`ip_range`, else the subnet) that is not the subnet's own network address."""
    network = ipaddress.ip_network(subnet, strict=False)
    first = ipaddress.ip_network(ip_range, strict=False).network_address if ip_range else network.network_address
    return str(first + 1 if first == network.network_address else first)


def ipam_pool(subnet: str, gateway: Optional[str] = None, ip_range: Optional[str] = None) -> docker.NetworkIpamConfigArgs:
    """An IPAM pool with its gateway said. An engine (20.10 at least) leaves out a gateway it chose
    from `docker network inspect` until it restarts, then reports it; the provider reads it then,
    and a changed `ipam_config` replaces the network, with every container on it."""
    return docker.NetworkIpamConfigArgs(subnet=subnet, gateway=gateway or default_gateway(subnet, ip_range), ip_range=ip_range)


def capability(name: str) -> str:
    """A Linux capability as the engine stores it on a container (`CAP_SYS_RESOURCE`; `ALL` as it is):
    the provider reads `capabilities` back, and a difference there replaces the container."""
    upper = name.upper()
    return upper if upper == "ALL" or upper.startswith("CAP_") else f"CAP_{upper}"
