"""Pulumi mocks that record every registration, for asserting the shape of the graph.

`RecordingMonitor` sees what `Mocks.new_resource` does not: each resource's parent,
provider, dependencies, options and which inputs are secret.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Mapping, Optional

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor


@dataclass(frozen=True)
class Registration:
    urn: str
    type: str
    name: str
    custom: bool
    inputs: dict[str, Any]
    """Inputs as the provider would get them, secrets unwrapped."""
    secret_inputs: frozenset[str]
    """Top-level input names whose value is (or contains) a secret."""
    parent: str
    provider: str
    """`urn::id` of the provider a custom resource uses."""
    dependencies: frozenset[str]
    additional_secret_outputs: tuple[str, ...]
    delete_before_replace: bool
    retain_on_delete: bool = False
    ignore_changes: tuple[str, ...] = ()

    @property
    def provider_urn(self) -> str:
        return self.provider.rsplit("::", 1)[0]


def _unwrap(value: Any) -> tuple[Any, bool]:
    """The value without secret wrappers, and whether any were found."""
    if rpc.is_rpc_secret(value):
        inner, _ = _unwrap(value["value"])
        return inner, True
    if isinstance(value, dict):
        pairs = {key: _unwrap(item) for key, item in value.items()}
        return {key: pair[0] for key, pair in pairs.items()}, any(pair[1] for pair in pairs.values())
    if isinstance(value, list):
        pairs = [_unwrap(item) for item in value]
        return [pair[0] for pair in pairs], any(pair[1] for pair in pairs)
    return value, False


class RecordingMonitor(MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self._lock = threading.Lock()

    def RegisterResource(self, request):  # noqa: N802 (the gRPC method's name)
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        raw = rpc.deserialize_properties(request.object, keep_unknowns=True)
        inputs: dict[str, Any] = {}
        secrets = set()
        for key, value in raw.items():
            inputs[key], secret = _unwrap(value)
            if secret:
                secrets.add(key)
        registration = Registration(
            urn=response.urn,
            type=request.type,
            name=request.name,
            custom=request.custom,
            inputs=inputs,
            secret_inputs=frozenset(secrets),
            parent=request.parent,
            provider=request.provider,
            dependencies=frozenset(request.dependencies),
            additional_secret_outputs=tuple(request.additionalSecretOutputs),
            delete_before_replace=request.deleteBeforeReplace,
            retain_on_delete=request.retainOnDelete,
            ignore_changes=tuple(request.ignoreChanges),
        )
        with self._lock:
            self.registrations.append(registration)
        return response


class ComputedOutputs(pulumi.runtime.Mocks):
    """Echoes inputs and adds the outputs providers compute, so dependent inputs resolve.

    `stack_outputs` maps a stack's name to the outputs a StackReference to it reads.
    """

    def __init__(self, stack_outputs: Optional[Mapping[str, Mapping[str, Any]]] = None) -> None:
        self._stack_outputs = dict(stack_outputs or {})

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[Optional[str], dict]:
        outputs = dict(args.inputs)
        typ = args.typ
        if typ == "docker:index/container:Container":
            networks = outputs.get("networksAdvanced") or []
            outputs["networkDatas"] = [
                {"networkName": network["name"], "ipAddress": network.get("ipv4Address") or f"10.99.0.{index + 10}"}
                for index, network in enumerate(networks)
            ]
        elif typ == "docker:index/remoteImage:RemoteImage":
            outputs["imageId"] = f"sha256:{args.name}"
            outputs["repoDigest"] = f"{outputs['name']}@sha256:{args.name}"
        elif typ == "docker:index/image:Image":
            outputs["repoDigest"] = f"{_repository(outputs['imageName'])}@sha256:{args.name}"
        elif typ.startswith("command:"):
            outputs["stdout"] = f"stdout-of-{args.name}"
            outputs["stderr"] = ""
        elif typ == "random:index/randomPassword:RandomPassword":
            # The character set a test can see it asked for, one deterministic draw from it.
            alphabet = outputs.get("overrideSpecial") or "abcdefghijklmnopqrstuvwxyz"
            length = int(outputs.get("length", 16))
            outputs["result"] = (alphabet * length)[:length]
            outputs["bcryptHash"] = f"bcrypt-of-{args.name}"
            return "none", outputs
        elif typ == "tls:index/privateKey:PrivateKey":
            outputs["privateKeyPem"] = f"private-key-of-{args.name}"
            outputs["publicKeyPem"] = f"public-key-of-{args.name}"
        elif typ == "tls:index/certRequest:CertRequest":
            outputs["certRequestPem"] = f"request-of-{args.name}"
        elif typ in ("tls:index/selfSignedCert:SelfSignedCert", "tls:index/locallySignedCert:LocallySignedCert"):
            outputs["certPem"] = f"certificate-of-{args.name}"
        elif typ == "consul:index/aclToken:AclToken":
            outputs["accessorId"] = f"accessor-of-{args.name}"
        elif typ == "pulumi:pulumi:StackReference":
            if outputs["name"] not in self._stack_outputs:
                raise LookupError(f"no stack named {outputs['name']!r}; the test gives {sorted(self._stack_outputs)}")
            outputs["outputs"] = dict(self._stack_outputs[outputs["name"]])
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, Optional[list]]:
        if args.token == "consul:index/getAclTokenSecretId:getAclTokenSecretId":
            accessor = args.args["accessorId"]
            return {"accessorId": accessor, "secretId": f"secret-of-{accessor}", "id": accessor}, []
        raise NotImplementedError(f"the program should not invoke {args.token}")


def _repository(image_name: str) -> str:
    """`registry:5000/app:tag` -> `registry:5000/app`."""
    repository, _, tag = image_name.rpartition(":")
    return repository if repository and "/" not in tag else image_name
