"""An image of ours, built from a Dockerfile in the repository and optionally pushed."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_command as command
import pulumi_docker as docker

from components.options import child_options, component_options
from components.registry import RegistryLogin


@dataclass(frozen=True)
class AppImageArgs:
    context: str
    """Build context: the app's folder, holding its Dockerfile."""
    image_name: str
    """repository[:tag]; with a registry, the repository starts with its server."""
    base_image: str
    """The Dockerfile's BASE_IMAGE build argument."""
    docker_url: str
    """The engine that builds it (the one its provider names); its copy goes on destroy."""
    platform: str
    """os/architecture to build for, e.g. linux/amd64."""
    registry: Optional[RegistryLogin] = None
    """Push there so other engines can pull; without one the image stays on the building engine."""
    ca_certificates: Optional[str] = None
    """PEM text the Dockerfile's EXTRA_CA_CERTS build argument hands to pip, behind a TLS-re-signing proxy."""


def build_arguments(args: AppImageArgs) -> dict[str, str]:
    arguments = {"BASE_IMAGE": args.base_image}
    if args.ca_certificates:
        arguments["EXTRA_CA_CERTS"] = args.ca_certificates
    return arguments


class AppImage(pulumi.ComponentResource):
    reference: pulumi.Output[str]
    """What an engine pulls or finds: the pushed digest, or the local tag."""
    digest: pulumi.Output[str]
    """Changes with every rebuild; containers use it to notice a new image behind the same tag."""

    def __init__(self, name: str, args: AppImageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("orchestration:images:AppImage", name, None, component_options(opts))
        image = docker.Image(
            f"{name}-build",
            image_name=args.image_name,
            build=docker.DockerBuildArgs(
                context=args.context,
                args=build_arguments(args),
                platform=args.platform,
            ),
            skip_push=args.registry is None,
            registry=docker.RegistryArgs(
                server=args.registry.server,
                username=args.registry.username,
                password=args.registry.password,
            )
            if args.registry
            else None,
            opts=child_options(self, opts),
        )
        # pulumi-docker's Image never removes what it built. This does, on destroy, and only after
        # everything that uses the image: `reference` depends on it. An image removed by hand already
        # must not fail the destroy.
        removal = command.local.Command(
            f"{name}-removal",
            delete='docker image rm "$IMAGE" >&2 || true',
            environment={"DOCKER_HOST": args.docker_url, "IMAGE": args.image_name},
            interpreter=["/bin/sh", "-c"],
            opts=child_options(self, opts, depends_on=[image]),
        )
        self.digest = image.repo_digest
        built = image.repo_digest if args.registry else image.image_name
        self.reference = pulumi.Output.all(built, removal.id).apply(lambda values: values[0])
        self.register_outputs({"reference": self.reference, "digest": self.digest})
