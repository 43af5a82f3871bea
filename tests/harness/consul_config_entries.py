"""pulumi-consul's ConfigEntryServiceIntentions, translated to Consul's config entry API as the
Terraform Consul provider does (resource_consul_config_entry_concrete.go and
resource_consul_config_entry_service_intentions.go).

Create and update both write the whole entry (PUT /v1/config, Kind service-intentions) and read it
back; the id is the entry's name. `name`, `namespace` and `partition` replace; `sources`, `meta` and
`jwts` change in place. Each source's `type` defaults to "consul"; its `precedence` is Consul's, read
back. Delete removes the entry (DELETE /v1/config/service-intentions/<name>). A refresh of an entry that
is gone (deleted behind Pulumi's back) drops it from the state, as the provider's Read does.

The engine diffs a program's sources against the sources the provider read back, not against the
previous inputs: a source attribute the program leaves out but Consul filled in (`precedence`, which
is Optional and not Computed in the provider's schema) is proposed as removed on every preview
(`- precedence: 9`), as the real CLI shows. Attributes left out and read back empty ("" or 0) are not.
"""
from __future__ import annotations

from typing import Any, Mapping

from .base import HarnessError, ResourceContext, ResourceHandler, changed_keys
from .state import ResourceRecord

KIND = "service-intentions"


class ConfigEntryServiceIntentions(ResourceHandler):
    type_token = "consul:index/configEntryServiceIntentions:ConfigEntryServiceIntentions"
    in_place = frozenset({"sources", "meta", "jwts"})

    def changed(self, old: ResourceRecord, new_inputs: Mapping[str, Any]) -> set[str]:
        changed = {key for key in changed_keys(old.inputs, new_inputs) if key != "sources"}
        read_back = old.outputs.get("sources", old.inputs.get("sources")) or []
        if [_as_diffed(source) for source in new_inputs.get("sources") or []] != [_as_diffed(source) for source in read_back]:
            changed.add("sources")
        return changed

    def create(self, ctx: ResourceContext) -> tuple[str, dict[str, Any]]:
        i = ctx.inputs
        if i.get("jwts"):
            raise HarnessError(f"{ctx.name}: the harness does not translate `jwts`")
        ctx.consul().request("PUT", "/v1/config", params=_scope(i), json=entry_body(i))
        read = self._read(ctx, i)
        if read is None:
            raise HarnessError(f"{ctx.name}: failed to read config entry after setting it")
        return i["name"], read

    def update(self, ctx: ResourceContext, old: ResourceRecord) -> tuple[str, dict[str, Any]]:
        return self.create(ctx)

    def delete(self, ctx: ResourceContext, record: ResourceRecord) -> None:
        ctx.consul().request("DELETE", f"/v1/config/{KIND}/{record.id}", params=_scope(record.inputs))

    def refresh(self, ctx: ResourceContext, record: ResourceRecord) -> dict[str, Any] | None:
        return self._read(ctx, record.inputs)

    def _read(self, ctx: ResourceContext, i: Mapping[str, Any]) -> dict[str, Any] | None:
        response = ctx.consul().session.get(
            f"{ctx.consul().base}/v1/config/{KIND}/{i['name']}", params=_scope(i), timeout=30, verify=ctx.consul().verify
        )
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise HarnessError(f"consul GET /v1/config/{KIND}/{i['name']}: HTTP {response.status_code}: {response.text.strip()}")
        entry = response.json()
        return {
            **i,
            "meta": entry.get("Meta") or {},
            "sources": [_source_state(source) for source in entry.get("Sources") or []],
        }


def entry_body(i: Mapping[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"Kind": KIND, "Name": i["name"], "Sources": [_source_body(s) for s in i.get("sources") or []]}
    if i.get("meta"):
        body["Meta"] = dict(i["meta"])
    for key in ("namespace", "partition"):
        if i.get(key):
            body[key.capitalize()] = i[key]
    return body


def _source_body(source: Mapping[str, Any]) -> dict[str, Any]:
    if source.get("permissions"):
        raise HarnessError("the harness does not translate L7 `permissions` of an intention source")
    body = {
        "Name": source.get("name", ""),
        "Type": source.get("type") or "consul",
        "Description": source.get("description", ""),
        **({"Action": source["action"]} if source.get("action") in ("allow", "deny") else {}),
    }
    for key, field in (("peer", "Peer"), ("namespace", "Namespace"), ("partition", "Partition"), ("samenessGroup", "SamenessGroup")):
        if source.get(key):
            body[field] = source[key]
    return body


def _source_state(source: Mapping[str, Any]) -> dict[str, Any]:
    """What the provider's Write puts in the state for one source."""
    return {
        "name": source.get("Name", ""),
        "peer": source.get("Peer", ""),
        "namespace": source.get("Namespace", ""),
        "partition": source.get("Partition", ""),
        "samenessGroup": source.get("SamenessGroup", ""),
        "action": source.get("Action", ""),
        "precedence": source.get("Precedence", 0),
        "type": source.get("Type", ""),
        "description": source.get("Description", ""),
        "permissions": [],
    }


# A source's attributes as the provider's schema has them, with the value an unset one diffs as.
SOURCE_ZEROES = {
    "name": "", "peer": "", "namespace": "", "partition": "", "samenessGroup": "", "action": "",
    "precedence": 0, "type": "consul", "description": "", "permissions": [],
}


def _as_diffed(source: Mapping[str, Any]) -> dict[str, Any]:
    """A source with every attribute, unset ones at the value they diff as ("consul" for `type`, its default)."""
    return {key: source.get(key) if source.get(key) not in (None, "") else zero for key, zero in SOURCE_ZEROES.items()}


def _scope(i: Mapping[str, Any]) -> dict[str, str]:
    return {param: i[key] for key, param in (("namespace", "ns"), ("partition", "partition")) if i.get(key)}


HANDLERS = [ConfigEntryServiceIntentions()]
