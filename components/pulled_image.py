"""Makes an image present on one engine, so containers can be created from its id."""
from __future__ import annotations

from typing import Optional, Sequence

import pulumi
import pulumi_docker as docker


def pulled_image(
    name: str,
    image: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    triggers: Optional[Sequence[pulumi.Input[str]]] = None,
    platform: Optional[str] = None,
) -> docker.RemoteImage:
    """A RemoteImage for `image` on the engine of `opts`' provider.

    Containers take its `image_id`, not the tag, so an unchanged image replaces
    nothing. `triggers` (e.g. a build's digest) re-resolve it when a tag moves. `platform`
    (`os/arch`) pulls that variant of a multi-platform image.
    """
    return docker.RemoteImage(
        name,
        name=image,
        # Other stacks on the same engine may use the image; never delete it.
        keep_locally=True,
        pull_triggers=triggers,
        platform=platform,
        opts=opts,
    )
