"""pulumi-consul's ACL resources, translated to Consul's ACL HTTP API as the Terraform Consul provider does.

AclPolicy -> /v1/acl/policy (id: the policy's ID; name, rules, description and datacenters
change in place). AclToken -> /v1/acl/token (id: its AccessorID, an output as `accessorId`;
description, policies, roles, node and service identities change in place, `accessorId` and `local` replace).
AclTokenPolicyAttachment reads the token, adds the policy by name and writes the token back
(id `<token>:<policy>`; every input replaces; delete takes the policy off again). The invoke
getAclTokenSecretId reads a token's SecretID by its accessor.
"""
from __future__ import annotations

from typing import Any, Mapping

from .base import ResourceContext, ResourceHandler
from .consul_resources import ConsulClient
from .state import ResourceRecord


class AclPolicy(ResourceHandler):
    type_token = "consul:index/aclPolicy:AclPolicy"
    in_place = frozenset({"name", "rules", "description", "datacenters"})

    def create(self, ctx: ResourceContext) -> tuple[str, dict[str, Any]]:
        created = ctx.consul().request("PUT", "/v1/acl/policy", json=_policy_body(ctx.inputs)).json()
        return created["ID"], dict(ctx.inputs)

    def update(self, ctx: ResourceContext, old: ResourceRecord) -> tuple[str, dict[str, Any]]:
        ctx.consul().request("PUT", f"/v1/acl/policy/{old.id}", json=_policy_body(ctx.inputs))
        return old.id, dict(ctx.inputs)

    def delete(self, ctx: ResourceContext, record: ResourceRecord) -> None:
        ctx.consul().request("DELETE", f"/v1/acl/policy/{record.id}")


class AclToken(ResourceHandler):
    type_token = "consul:index/aclToken:AclToken"
    in_place = frozenset({"description", "policies", "roles", "serviceIdentities", "nodeIdentities", "templatedPolicies"})

    def create(self, ctx: ResourceContext) -> tuple[str, dict[str, Any]]:
        body = _token_body(ctx.inputs)
        if ctx.inputs.get("accessorId"):
            body["AccessorID"] = ctx.inputs["accessorId"]
        created = ctx.consul().request("PUT", "/v1/acl/token", json=body).json()
        return created["AccessorID"], {**ctx.inputs, "accessorId": created["AccessorID"], "local": bool(ctx.inputs.get("local"))}

    def update(self, ctx: ResourceContext, old: ResourceRecord) -> tuple[str, dict[str, Any]]:
        ctx.consul().request("PUT", f"/v1/acl/token/{old.id}", json={**_token_body(ctx.inputs), "AccessorID": old.id})
        return old.id, {**old.outputs, **ctx.inputs, "accessorId": old.id}

    def delete(self, ctx: ResourceContext, record: ResourceRecord) -> None:
        ctx.consul().request("DELETE", f"/v1/acl/token/{record.id}")


class AclTokenPolicyAttachment(ResourceHandler):
    type_token = "consul:index/aclTokenPolicyAttachment:AclTokenPolicyAttachment"

    def create(self, ctx: ResourceContext) -> tuple[str, dict[str, Any]]:
        token_id, policy = ctx.inputs["tokenId"], ctx.inputs["policy"]
        _edit_policies(ctx.consul(), token_id, lambda names: names + [policy] if policy not in names else names)
        return f"{token_id}:{policy}", dict(ctx.inputs)

    def delete(self, ctx: ResourceContext, record: ResourceRecord) -> None:
        policy = record.inputs["policy"]
        _edit_policies(ctx.consul(), record.inputs["tokenId"], lambda names: [name for name in names if name != policy])


def acl_token_secret_id(client: ConsulClient, arguments: Mapping[str, Any]) -> dict[str, Any]:
    token = client.request("GET", f"/v1/acl/token/{arguments['accessorId']}").json()
    return {"accessorId": token["AccessorID"], "secretId": token["SecretID"], "id": token["AccessorID"]}


def _edit_policies(client: ConsulClient, token_id: str, edit) -> None:
    token = client.request("GET", f"/v1/acl/token/{token_id}").json()
    names = edit([policy["Name"] for policy in token.get("Policies") or []])
    token["Policies"] = [{"Name": name} for name in names]
    client.request("PUT", f"/v1/acl/token/{token_id}", json=token)


def _policy_body(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "Name": inputs["name"],
        "Rules": inputs["rules"],
        "Description": inputs.get("description") or "",
        "Datacenters": inputs.get("datacenters") or [],
    }


def _token_body(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "Description": inputs.get("description") or "",
        "Policies": [{"Name": name} for name in inputs.get("policies") or []],
        "Roles": [{"Name": name} for name in inputs.get("roles") or []],
        "NodeIdentities": [
            {"NodeName": identity["nodeName"], "Datacenter": identity["datacenter"]} for identity in inputs.get("nodeIdentities") or []
        ],
        "ServiceIdentities": [
            {"ServiceName": identity["serviceName"], **({"Datacenters": identity["datacenters"]} if identity.get("datacenters") else {})}
            for identity in inputs.get("serviceIdentities") or []
        ],
        "Local": bool(inputs.get("local")),
    }


HANDLERS = [AclPolicy(), AclToken(), AclTokenPolicyAttachment()]
INVOKES = {"consul:index/getAclTokenSecretId:getAclTokenSecretId": acl_token_secret_id}
