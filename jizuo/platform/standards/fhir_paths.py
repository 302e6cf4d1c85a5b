"""Checking a data set's FHIR paths ("Observation.code.coding[0]") against the FHIR R4 structure.

A path that names a missing element, omits a list index or indexes a single element would only fail later,
row by row, inside the ingest mapper; the catalogue refuses it when a data set is saved instead. The structure
comes from the `fhir.resources` R4B models (R4B does not differ from R4 in the resources the catalogue uses).
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from functools import lru_cache

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.resource import Resource
from pydantic import BaseModel

_SEGMENT = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9]*)(?:\[(?P<index>\d+)\])?$")


@dataclass(frozen=True)
class Target:
    """Where a path ends: the resource type and the FHIR type of the last element (`Coding`, `Identifier`,
    `Reference`, or a primitive such as `code`, `string`, `dateTime`, `decimal`)."""

    resource: str
    type: str

    @property
    def primitive(self) -> bool:
        return self.type[:1].islower()


def _model_class(name: str) -> type[BaseModel] | None:
    try:
        cls = get_fhir_model_class(name)
    except (KeyError, ValueError, AttributeError, ImportError):
        return None
    return cls if isinstance(cls, type) and issubclass(cls, BaseModel) else None


def is_resource_type(name: str) -> bool:
    cls = _model_class(name) if name[:1].isupper() else None
    return cls is not None and issubclass(cls, Resource) and cls.__name__ == name


def _unwrap(annotation: typing.Any) -> tuple[bool, typing.Any]:
    """(is a list, the element type) of a model field annotation."""
    is_list = False
    while True:
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0]
        elif origin is list:
            is_list, annotation = True, typing.get_args(annotation)[0]
        else:
            return is_list, annotation


def _type_name(annotation: typing.Any) -> str:
    if typing.get_origin(annotation) is typing.Annotated:
        marker = typing.get_args(annotation)[1:]
        name = type(marker[0]).__name__ if marker else "string"
        return name[:1].lower() + name[1:]
    if annotation is bool:
        return "boolean"
    name = getattr(annotation, "__name__", str(annotation))
    return name[:-4] if name.endswith("Type") else name


def _field(model: type[BaseModel], name: str) -> typing.Any:
    for key, info in model.model_fields.items():
        if (info.alias or key) == name or key == name:
            return info.annotation
    return None


@lru_cache(maxsize=2048)
def resolve(path: str) -> Target:
    """The target of a path, or ValueError with a Chinese message saying what is wrong."""
    resource, *segments = path.split(".")
    if not is_resource_type(resource):
        raise ValueError(f"FHIR 路径 {path}：{resource} 不是 FHIR R4 资源类型")
    if not segments:
        raise ValueError(f"FHIR 路径 {path} 缺少元素")
    model: type[BaseModel] | None = _model_class(resource)
    type_name = resource
    for position, segment in enumerate(segments):
        match = _SEGMENT.match(segment)
        if match is None:
            raise ValueError(f"FHIR 路径 {path}：无法识别的片段 {segment!r}")
        if model is None:
            raise ValueError(f"FHIR 路径 {path}：{type_name} 是基本类型，不能再有子元素 {segment}")
        annotation = _field(model, match["name"])
        if annotation is None:
            raise ValueError(f"FHIR 路径 {path}：{type_name} 没有元素 {match['name']}")
        is_list, inner = _unwrap(annotation)
        if is_list and match["index"] is None:
            raise ValueError(f"FHIR 路径 {path}：{match['name']} 是列表，须写明下标，如 {match['name']}[0]")
        if not is_list and match["index"] is not None:
            raise ValueError(f"FHIR 路径 {path}：{match['name']} 不是列表，不能带下标")
        type_name = _type_name(inner)
        last = position == len(segments) - 1
        model = None if type_name[:1].islower() else _model_class(type_name)
        if model is None and not type_name[:1].islower() and not last:
            raise ValueError(f"FHIR 路径 {path}：无法解析类型 {type_name}")
    return Target(resource=resource, type=type_name)
