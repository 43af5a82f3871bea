"""The components as other languages get them, through Pulumi's component provider (provider/).

The provider hands a component its args as a dict of plain values, outputs and resource references,
and infers the schema other languages generate their SDKs from out of type annotations. Each
component here is the Python one with an args form the schema analyzer accepts: a TypedDict derived
from the component's own args dataclass, field for field, so the two cannot drift apart. A field with
a default becomes optional, a nested dataclass (a node spec, a published port) a TypedDict of its
own, and `pulumi.Input[...]` versus plain types carry over as they are: what a component needs plain,
a caller in another language must give plain. Needs Python 3.11 (`typing.NotRequired`).
"""
import dataclasses
import inspect
import json
import sys
import typing
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any, NotRequired, Optional, TypedDict, Union

import pulumi
from pulumi.provider.experimental.util import camel_case

import components

PACKAGE = "orchestration"
"""The schema's package name: other languages import the SDK under it (`@pulumi/orchestration`...)."""

GO_OPTIONS = {
    # Pulumi's Go generator otherwise leaves out the input forms (`ConsulNodeSpecArgs`...) of the types
    # only used in plain lists, while the args structs name them: the SDK would not compile.
    "generateExtraInputTypes": True,
    # The SDK's module is `orchestration-components/sdk/go` (the generator's default, `example.com/...`,
    # is a placeholder); `pulumi package add` points it at the generated folder with a `replace`.
    "importBasePath": "orchestration-components/sdk/go/orchestration",
}
"""Options of the schema's Go generator the inferred schema lacks (`language.go`)."""


def cross_language(component: type[pulumi.ComponentResource]) -> type[pulumi.ComponentResource]:
    """The component with a dict-taking constructor whose annotations the schema analyzer reads."""
    args_class = inspect.get_annotations(component.__init__, eval_str=True)["args"]

    def __init__(self, name: str, args, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        component.__init__(self, name, from_wire(args_class, args), opts)

    __init__.__annotations__ = {"args": typed_dict(args_class)}
    # The outputs are the component's annotated attributes; tuples (a Python habit) become sequences,
    # which the analyzer knows as arrays.
    outputs = {key: _as_sequence(hint) for key, hint in inspect.get_annotations(component, eval_str=True).items()}
    # Module and qualified name stay the component's, so the analyzer finds the outputs' docstrings in its
    # source. The description is the module's docstring: one component per module, and it says what it builds.
    namespace = {
        "__init__": __init__,
        "__annotations__": outputs,
        "__doc__": sys.modules[component.__module__].__doc__,
        "__module__": component.__module__,
    }
    return type(component.__name__, (component, _IndexToken), namespace)


class _IndexToken(pulumi.ComponentResource):
    """Registers the component under the token callers in other languages ask for, `orchestration:index:<Name>`.

    Placed after the component in the method resolution order, it receives the component's own call
    to ComponentResource.__init__ and swaps the module of its type token for the provider's only one.
    """

    def __init__(self, t: str, name: str, props: Optional[dict] = None, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(f"{PACKAGE}:index:{t.rsplit(':', 1)[-1]}", name, props, opts)


_typed_dicts: dict[type, type] = {}


def typed_dict(args_class: type) -> type:
    """The TypedDict form of an args dataclass; one per dataclass, since the schema names types by class name."""
    if args_class not in _typed_dicts:
        hints = inspect.get_annotations(args_class, eval_str=True)
        fields = {
            field.name: _typed(hints[field.name]) if _required(field) else NotRequired[_typed(hints[field.name])]
            for field in dataclasses.fields(args_class)
        }
        form = TypedDict(args_class.__name__, fields)
        form.__module__, form.__qualname__, form.__doc__ = args_class.__module__, args_class.__qualname__, args_class.__doc__
        _typed_dicts[args_class] = form
    return _typed_dicts[args_class]


def from_wire(target: Any, value: Any) -> Any:
    """A value the provider received, as the Python API types it: dicts into dataclasses, whole numbers into ints.

    What the Python API takes plain must arrive plain. The provider wraps a whole input in an output
    when anything in it depends on a resource (a node spec naming a provider, say), with a value
    that is there already: that value is taken out (see `_settled`).
    """
    if _is_input(target):
        return value
    value = _settled(value)
    if value is None:
        return None
    if dataclasses.is_dataclass(target):
        hints = inspect.get_annotations(target, eval_str=True)
        # Inside an input the provider received wrapped, names are still the schema's (camelCase).
        names = {camel_case(name): name for name in hints} | {name: name for name in hints}
        return target(**{names[key]: from_wire(hints[names[key]], item) for key, item in value.items()})
    if target is int and isinstance(value, float):
        # Numbers cross the wire as floats, and the provider hands them on as such.
        return int(value)
    origin, arguments = typing.get_origin(target), typing.get_args(target)
    if origin is Union and len(arguments) == 2 and type(None) in arguments:
        return from_wire(next(a for a in arguments if a is not type(None)), value)
    if origin in (Sequence, list, tuple) and isinstance(value, (list, tuple)):
        return tuple(from_wire(arguments[0], item) for item in value)
    if origin is Mapping and isinstance(value, dict):
        return {key: from_wire(arguments[1], item) for key, item in value.items()}
    return value


def _is_input(hint: Any) -> bool:
    """`pulumi.Input[T]` (or optional): a union that takes an awaitable, so outputs too."""
    return typing.get_origin(hint) is Union and any(typing.get_origin(a) is Awaitable for a in typing.get_args(hint))


def _settled(value: Any) -> Any:
    """The value of an output the provider built from what it received, whose data is already there.

    The SDK has no public way to read an output synchronously, and a component's constructor is
    synchronous: this reads the output's private data, which the SDK's own provider server sets before
    it calls the component (`rpc.deserialize_output_value`, `ProviderServicer._select_value`).
    """
    data = getattr(value, "_data", None) if isinstance(value, pulumi.Output) else None
    if data is None or not data.done():
        return value
    if not data.result().is_known:
        raise ValueError("an input the component needs plain is not known yet: give it a value known at preview")
    return data.result().value


def _required(field: dataclasses.Field) -> bool:
    return field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING


def _typed(hint: Any) -> Any:
    """A field's type with every dataclass in it replaced by its TypedDict form."""
    if dataclasses.is_dataclass(hint):
        return typed_dict(hint)
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin is Union:
        return Union[tuple(_typed(argument) for argument in arguments)]
    if origin is Sequence:
        return Sequence[_typed(arguments[0])]
    if origin is Mapping:
        return Mapping[arguments[0], _typed(arguments[1])]
    return hint


def _as_sequence(hint: Any) -> Any:
    if typing.get_origin(hint) is tuple:
        return Sequence[typing.get_args(hint)[0]]
    return hint


COMPONENTS = [cross_language(exported) for exported in map(components.__dict__.get, components.__all__)
              if inspect.isclass(exported) and issubclass(exported, pulumi.ComponentResource)]
"""Every component the package exports, in `__all__`'s order."""


def component_provider(version: str):
    """The provider serving COMPONENTS, its inferred schema given GO_OPTIONS."""
    from pulumi.provider.experimental.component import ComponentProvider

    provider = ComponentProvider(COMPONENTS, PACKAGE, version=version)
    schema = json.loads(provider.schema)
    schema["language"]["go"].update(GO_OPTIONS)
    provider.schema = json.dumps(schema)
    return provider
