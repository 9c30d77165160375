"""Load and validate a plant file; a broken file fails with the file, the entry and the problem named."""

from __future__ import annotations

import difflib
import logging
import types
import typing
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ValidationError

from plant.schema import Plant, PlantReferenceError

logger = logging.getLogger(__name__)

DEMO_PLANT = Path(__file__).with_name("demo_smelter.yaml")


def default_plant_path() -> Path:
    return DEMO_PLANT


# A configuration file's error class: (path, ["entry: problem", ...]) -> the exception to raise.
Fail = Callable[[Path, list[str]], Exception]


class PlantFileError(ValueError):
    """A plant file that cannot be used. ``problems`` lists 'entry: problem' lines."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        shown = problems[:20]
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"plant file {path}: {len(problems)} problem(s)\n  " + "\n  ".join(shown) + more)


if TYPE_CHECKING:  # both share SafeConstructor, whose construct_mapping is overridden below
    _BaseLoader = yaml.SafeLoader
else:
    _BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_BaseLoader):
    """Safe loader that refuses a key given twice in one mapping (plain YAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[str, yaml.Node] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = key_node.value
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping",
                        node.start_mark,
                        f"found the key {key!r} twice (first at line {seen[key].start_mark.line + 1})",
                        key_node.start_mark,
                    )
                seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """'not valid YAML at line 3, column 7: mapping values are not allowed here' from a PyYAML error."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        what = f"{exc.problem} ({exc.context})" if exc.context else str(exc.problem)
        return f"not valid YAML at line {mark.line + 1}, column {mark.column + 1}: {what}"
    return f"not valid YAML: {exc}"


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The schema model whose mapping sits at ``loc`` (None when the path leaves the schema)."""
    model: type[BaseModel] = Plant
    annotation: Any = None
    for key in loc:
        if annotation is None:
            if not isinstance(key, str) or key not in model.model_fields:
                return None
            annotation = model.model_fields[key].annotation
        else:
            annotation = _item_type(annotation)
            if annotation is None:
                return None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model, annotation = annotation, None
    return model if annotation is None else None


def _item_type(annotation: Any) -> Any:
    """list[X] -> X, dict[str, X] -> X, X | None -> X (one level)."""
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        return _item_type(args[0])
    if origin is list and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None


def _unknown_key(loc: tuple[int | str, ...]) -> str:
    model = _model_at(loc[:-1])
    key = loc[-1]
    if model is None or not isinstance(key, str):
        return "unknown key (not part of the plant schema)"
    fields = list(model.model_fields)
    close = difflib.get_close_matches(key, fields, n=1, cutoff=0.6)
    if close:
        return f"unknown key {key!r}; did you mean {close[0]!r}?"
    return f"unknown key {key!r}; expected one of: {', '.join(fields)}"


def _entry(raw: Any, loc: tuple[int | str, ...]) -> str:
    """'zones[3] (acid-tank-farm).polygon' from a pydantic location, naming the entry by its id."""
    parts: list[str] = []
    node = raw
    for key in loc:
        if isinstance(key, int):
            label = f"[{key}]"
            try:
                node = node[key]
                if isinstance(node, dict) and isinstance(node.get("id"), str):
                    label += f" ({node['id']})"
            except (IndexError, KeyError, TypeError):
                node = None
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return "".join(parts) or "(top level)"


def _problems(raw: Any, exc: ValidationError) -> list[str]:
    out: list[str] = []
    for err in exc.errors(include_url=False):
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, PlantReferenceError):
            for coll, index, field, message in cause.items:
                out.append(f"{_entry(raw, (*err['loc'], coll, index, field))}: {message}")
            continue
        loc = tuple(k for k in err["loc"] if not (isinstance(k, str) and k.startswith("function-")))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = _unknown_key(loc)
        elif err["type"] == "missing":
            msg = "missing field (required)"
        elif "input" in err and err["type"] not in ("value_error", "assertion_error") and _short(err["input"]):
            msg = f"{msg} (got {_short(err['input'])})"
        out.append(f"{_entry(raw, loc)}: {msg}")
    return out


def _short(value: Any) -> str:
    """A short rendering of an offending scalar value for messages; containers are not repeated."""
    if isinstance(value, dict | list | tuple):
        return ""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def read_mapping(text: str, path: Path, fail: Fail, sections: str) -> dict[str, Any]:
    """The YAML mapping in ``text`` (duplicate keys refused), or ``fail(path, [problem])`` raised."""
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)  # a safe loader (CSafeLoader/SafeLoader)
    except yaml.YAMLError as exc:
        raise fail(path, [_yaml_problem(exc)]) from exc
    if not isinstance(raw, dict):
        raise fail(path, [f"(top level): must be a mapping of sections ({sections}, ...)"])
    return raw


def read_text(path: Path, fail: Fail, what: str) -> str:
    """The UTF-8 text of a configuration file (BOM allowed), or ``fail(path, [problem])`` raised."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise fail(path, ["file not found"]) from exc
    except IsADirectoryError as exc:
        raise fail(path, [f"is a directory, not {what}"]) from exc
    except UnicodeDecodeError as exc:
        raise fail(path, [f"not UTF-8 text: {exc}"]) from exc


def parse_plant(text: str, path: Path) -> Plant:
    raw = read_mapping(text, path, PlantFileError, "site, zones, tags")
    try:
        return Plant.model_validate(raw)
    except ValidationError as exc:
        raise PlantFileError(path, _problems(raw, exc)) from exc


def load_plant(path: str | Path | None = None) -> Plant:
    """Read, parse and validate a plant file (the demo smelter by default)."""
    p = Path(path) if path is not None else DEMO_PLANT
    plant = parse_plant(read_text(p, PlantFileError, "a plant file"), p)
    logger.info("plant %s: %d zones, %d tags, %d badges", p.name, len(plant.zones), len(plant.tags), len(plant.badges))
    return plant


@lru_cache(maxsize=4)
def load_plant_cached(path: str) -> Plant:
    return load_plant(path)
