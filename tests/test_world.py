"""The demo world is rich enough, and a bad world file is refused with its line numbers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from meshfab.bootstrap import DEMO_DIR
from meshfab.domain.errors import InvalidInput
from meshfab.services.platform import Platform
from meshfab.services.world import load_world, parse_world


def test_demo_world_has_the_promised_breadth() -> None:
    world = parse_world(DEMO_DIR)
    regions = {f.location.region for f in world.factories}
    assert len(world.factories) >= 30
    assert {"yiwu", "yongkang", "shaoxing", "ningbo", "panyu", "shunde"} <= regions
    assert len({f.location.country for f in world.factories} - {"CN"}) >= 2
    assert len({lane.destination_country for lane in world.lanes}) >= 10
    assert len(world.merchants) >= 3 and "store" in {m.channel for m in world.merchants}
    assert len(world.templates) >= 6


def test_every_template_can_be_made_whole_by_several_factories() -> None:
    """A line is made by one factory, so some factories must hold every capability a template may need."""
    world = parse_world(DEMO_DIR)
    for template in world.templates:
        needed = {op.capability for op in template.operations}
        capable = [f.id for f in world.factories if needed <= f.capabilities]
        assert len(capable) >= 3, (template.key, sorted(needed), capable)
        assert template.currency == "USD" and all(f.currency == "USD" for f in world.factories)


def test_loading_twice_updates_instead_of_duplicating(platform: Platform) -> None:
    first = load_world(platform, DEMO_DIR)
    second = load_world(platform, DEMO_DIR)
    assert first == second
    with platform.uow() as uow:
        assert len(uow.factories.list()) == first["factories"]


def test_bad_files_are_refused_with_file_and_line_and_nothing_is_written(tmp_path: Path, platform: Platform) -> None:
    shutil.copytree(DEMO_DIR, tmp_path / "w")
    factories = tmp_path / "w" / "factories.yaml"
    text = factories.read_text()
    text = text.replace("timezone: Asia/Shanghai}", "timezone: Asia/Nowhere}", 1)
    text = text.replace("currency: USD", "currency: usd", 1)
    factories.write_text(text)
    lines = text.splitlines()
    tz_line = next(i for i, line in enumerate(lines, 1) if "Asia/Nowhere" in line)
    cur_line = next(i for i, line in enumerate(lines, 1) if "currency: usd" in line)
    with pytest.raises(InvalidInput) as caught:
        load_world(platform, tmp_path / "w")
    messages = [p.msg for p in caught.value.problems]
    assert any(m.startswith(f"factories.yaml:{tz_line}:") and "time zone" in m for m in messages), messages
    assert any(m.startswith(f"factories.yaml:{cur_line}:") for m in messages), messages
    with platform.uow() as uow:
        assert uow.factories.list() == []


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "lanes.yaml").write_text("lanes:\n  - id: a\n    cost: [1, 2\n")
    with pytest.raises(InvalidInput, match=r"lanes.yaml:\d+"):
        parse_world(tmp_path)


def test_a_lane_from_an_unknown_region_is_refused(tmp_path: Path) -> None:
    shutil.copytree(DEMO_DIR, tmp_path / "w")
    lanes = tmp_path / "w" / "lanes.yaml"
    lanes.write_text(lanes.read_text().replace("origin_region: yiwu", "origin_region: atlantis", 1))
    with pytest.raises(InvalidInput) as caught:
        parse_world(tmp_path / "w")
    assert any("atlantis" in p.msg for p in caught.value.problems)
