"""Resource options shared by every component's children."""
from __future__ import annotations

import copy
from typing import Any

import pulumi


def child_options(component: pulumi.Resource, opts: pulumi.ResourceOptions | None, **extra: Any) -> pulumi.ResourceOptions:
    """Options for a component's child: parented to it and ordered after what the component depends on.

    Pulumi does not hand a component's `depends_on` to its children, so without this a
    worker could be created before the Consul cluster it registers with is ready.
    """
    inherited = _as_list(opts.depends_on) if opts else []
    own = _as_list(extra.pop("depends_on", None))
    return pulumi.ResourceOptions(parent=component, depends_on=inherited + own or None, **extra)


def component_options(opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions | None:
    """Options for a component's own registration: the caller's, but for `depends_on`, which its
    children take (child_options).

    A component does no work, but the engine deletes in antichains (everything a resource depends on,
    its parent included, is deleted in a later antichain, each antichain after the one before has
    finished): a component registered after, say, Consul's readiness put its network and volume, each
    deleted in 2 s by pulumi-docker, in an antichain of their own before Consul's, instead of beside
    the stack's network.
    """
    if opts is None or not opts.depends_on:
        return opts
    return _without_depends_on(opts)


def _without_depends_on(opts: pulumi.ResourceOptions) -> pulumi.ResourceOptions:
    copied = copy.copy(opts)
    copied.depends_on = None
    return copied


def preparation_options(component: pulumi.Resource, **extra: Any) -> pulumi.ResourceOptions:
    """Options for a child that only prepares (an image pulled, a volume or a network made).

    Parented to the component but not ordered after what it waits for, so it is made while that
    work goes on; what uses it still waits for it, through its outputs.
    """
    return pulumi.ResourceOptions(parent=component, **extra)


def _as_list(depends_on: Any) -> list:
    if depends_on is None:
        return []
    return list(depends_on) if isinstance(depends_on, (list, tuple)) else [depends_on]
