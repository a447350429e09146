"""Convert world-atlas 110m TopoJSON (npm `world-atlas`, ISC; data from Natural Earth) into the small SVG outline
the operator dashboard draws its factories on. Run once; the output is committed, so no tile server is needed.

    npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    python scripts/make_world_svg.py package/countries-110m.json src/meshfab/web/static/geo/world-110m.svg

Projection: equirectangular, x = lon + 180, y = TOP - lat (the same formula `web/ops.py` uses for markers).
"""

from __future__ import annotations

import json
import sys

TOP, BOTTOM = 84.0, -58.0  # latitudes kept: Antarctica and the far Arctic carry no factories


def _arcs(topology: dict) -> list[list[tuple[float, float]]]:
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    decoded = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        decoded.append(points)
    return decoded


def _ring(arcs: list[list[tuple[float, float]]], indices: list[int]) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for i in indices:
        arc = arcs[i] if i >= 0 else list(reversed(arcs[~i]))
        points.extend(arc if not points else arc[1:])
    return points


def _path(rings: list[list[tuple[float, float]]]) -> str:
    parts = []
    for ring in rings:
        if any(lon > 170 for lon, _ in ring) and any(lon < -170 for lon, _ in ring):
            ring = [(lon + 360 if lon < 0 else lon, lat) for lon, lat in ring]  # across the date line: keep it whole
        xy = [(round(lon + 180, 1), round(TOP - max(BOTTOM, min(TOP, lat)), 1)) for lon, lat in ring]
        kept = [p for i, p in enumerate(xy) if i == 0 or p != xy[i - 1]]
        if len(kept) > 2:
            parts.append("M" + "L".join(f"{x:g} {y:g}" for x, y in kept) + "Z")
    return "".join(parts)


def main(source: str, target: str) -> None:
    with open(source) as f:
        topology = json.load(f)
    arcs = _arcs(topology)
    world, china = [], []
    for geometry in topology["objects"]["countries"]["geometries"]:
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        if geometry.get("properties", {}).get("name") == "Antarctica":
            continue
        rings = [_ring(arcs, ring) for polygon in polygons for ring in polygon]
        (china if geometry.get("properties", {}).get("name") == "China" else world).extend(rings)
    height = TOP - BOTTOM
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 360 {height:g}">'
        f'<path fill="#d9dee4" stroke="#ffffff" stroke-width="0.2" d="{_path(world)}"/>'
        f'<path fill="#f2d7c4" stroke="#ffffff" stroke-width="0.2" d="{_path(china)}"/></svg>\n'
    )
    with open(target, "w") as f:
        f.write(svg)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
