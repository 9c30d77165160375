"""Plant files at real size: includes (YAML and JSON), problems located by file and line, ``python -m plant check``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from plant.loader import PlantFileError, load_plant, parse_plant_source
from settings import ROOT

MINI = ROOT / "tests" / "fixtures" / "mini_plant.yaml"


def _split(tmp: Path) -> tuple[Path, dict[str, Any]]:
    """The mini plant with its tags and badges moved to included files (tags in YAML and JSON, nested)."""
    raw = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    tags, badges = raw.pop("tags"), raw.pop("badges")
    half = len(tags) // 2
    raw["include"] = ["lists/tags-a.yaml", "lists/badges.json"]
    (tmp / "lists").mkdir()
    (tmp / "lists" / "tags-a.yaml").write_text(
        yaml.safe_dump({"tags": tags[:half], "include": ["tags-b.json"]}, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    (tmp / "lists" / "tags-b.json").write_text(json.dumps({"tags": tags[half:]}, indent=1), encoding="utf-8")
    (tmp / "lists" / "badges.json").write_text(json.dumps({"badges": badges}, indent=1), encoding="utf-8")
    main = tmp / "plant.yaml"
    main.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return main, {"tags": tags, "badges": badges}


def _problems(path: Path) -> list[str]:
    with pytest.raises(PlantFileError) as caught:
        load_plant(path)
    return caught.value.problems


def test_included_files_give_the_same_plant(tmp_path: Path) -> None:
    main, _ = _split(tmp_path)
    whole = load_plant(MINI)
    split, source = parse_plant_source(main.read_text(encoding="utf-8"), main)
    assert [t.id for t in split.tags] == [t.id for t in whole.tags]  # order kept: a, then b (nested), then badges
    assert split.badges == whole.badges and split.tags == whole.tags
    assert [p.name for p in source.files] == ["plant.yaml", "tags-a.yaml", "tags-b.json", "badges.json"]


def test_a_problem_in_an_included_file_names_the_file_and_line(tmp_path: Path) -> None:
    main, lists = _split(tmp_path)
    bad = lists["tags"][len(lists["tags"]) // 2 + 1]  # the second tag of tags-b.json
    text = (tmp_path / "lists" / "tags-b.json").read_text(encoding="utf-8")
    text = text.replace(f'"node_id": "{bad["node_id"]}"', '"node_id": "s=no-namespace"')
    (tmp_path / "lists" / "tags-b.json").write_text(text, encoding="utf-8")
    problems = _problems(main)
    assert len(problems) == 1
    entries = [i for i, s in enumerate(text.splitlines(), 1) if s.strip() == "{"]  # [the file's object, tag 1, tag 2]
    assert f"({bad['id']}).node_id [lists/tags-b.json line {entries[2]}]" in problems[0], problems
    # a reference problem (an unknown endpoint) in the YAML include: its line too
    (tmp_path / "lists" / "tags-b.json").write_text(text.replace('"s=no-namespace"', f'"{bad["node_id"]}"'), "utf-8")
    a = tmp_path / "lists" / "tags-a.yaml"
    raw = yaml.safe_load(a.read_text(encoding="utf-8"))
    raw["tags"][0]["endpoint"] = "nowhere"
    a.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    problems = _problems(main)
    assert any("unknown endpoint 'nowhere'" in p and "[lists/tags-a.yaml line 2]" in p for p in problems), problems


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        ("tags: [", "broken.yaml", "include: lists/broken.yaml: not valid YAML at line"),
        ('{"tags": [}', "broken.json", "not valid JSON at line 1, column 11"),
        ('{"tags": [], "tags": []}', "twice.json", "found the key 'tags' twice"),
        ("site: {name: Other}", "site.yaml", "lists/site.yaml: site: an included file holds list sections only"),
        ("tags: {id: x}", "notalist.yaml", "lists/notalist.yaml: tags: must be a list of entries"),
        ("include: [../plant.yaml]", "loop.yaml", "includes itself"),
    ],
)
def test_bad_included_files_are_refused_and_named(tmp_path: Path, content: str, name: str, expected: str) -> None:
    main, _ = _split(tmp_path)
    (tmp_path / "lists" / name).write_text(content, encoding="utf-8")
    raw = yaml.safe_load(main.read_text(encoding="utf-8"))
    raw["include"].append(f"lists/{name}")
    main.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    problems = _problems(main)
    assert any(expected in p for p in problems), problems


def test_a_missing_include_is_named_with_the_file_that_names_it(tmp_path: Path) -> None:
    main, _ = _split(tmp_path)
    (tmp_path / "lists" / "badges.json").unlink()
    problems = _problems(main)
    assert problems == ["plant.yaml: include: lists/badges.json: file not found"] or any(
        "include: lists/badges.json: file not found" in p for p in problems
    ), problems


def test_check_command_summary_and_problems(tmp_path: Path) -> None:
    main, _ = _split(tmp_path)

    def check(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "plant", "check", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=60
        )

    ok = check(main)
    assert ok.returncode == 0, ok.stderr
    whole = load_plant(MINI)
    assert "valid" in ok.stdout and "4 file(s)" in ok.stdout
    assert any(line.split() == ["tags", str(len(whole.tags))] for line in ok.stdout.splitlines()), ok.stdout
    for ep in whole.endpoints:
        assert f"endpoint {ep.id}: {sum(t.endpoint == ep.id for t in whole.tags)} tags" in ok.stdout
    text = (tmp_path / "lists" / "badges.json").read_text(encoding="utf-8")
    (tmp_path / "lists" / "badges.json").write_text(text.replace('"kind": "person"', '"kind": "robot"', 1), "utf-8")
    bad = check(main)
    assert bad.returncode == 2
    assert "badges[0]" in bad.stderr and "lists/badges.json line" in bad.stderr
