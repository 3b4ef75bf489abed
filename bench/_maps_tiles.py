"""The maps benchmark's street view in tiles (issue 16): the same street box as the old
`/peta/data.json` answer, asked as the page's script asks it since, one `/peta/titik/z/x/y.json`
per 256 px map tile the window shows (apoa/maps/point_tiles.py).

Two figures per officer, over the same keep-alive HTTP as the old path, measured right after it on
the same server (each round asks every street view's tiles, the officers taking turns):
- **per tile**: the latency of each tile answer (what a tile server's p95 is quoted as);
- **whole view**: the wall time until every tile of the window is in, asked over PARALLEL
  connections at once as a browser does (Chromium opens 6 per host), to compare with the one old
  answer per view.
"""
import gzip
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor

from _common import percentile
from _maps_http import HttpClient

PARALLEL = 6


def tiles_of(bbox, zoom):
    """(z, x, y) of every 256 px tile the box touches (Leaflet's numbering)."""
    west, south, east, north = bbox
    n = 2 ** zoom

    def column(lon):
        return min(n - 1, int((lon + 180) / 360 * n))

    def row(lat):
        return min(n - 1, int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n))

    return [(zoom, x, y) for x in range(column(west), column(east) + 1)
            for y in range(row(north), row(south) + 1)]


def tile_path(tile):
    return "/peta/titik/{}/{}/{}.json".format(*tile)


def connections_like(client, count):
    """`count` more keep-alive connections holding the same session cookie."""
    others = []
    for _ in range(count):
        other = HttpClient(client.port)
        other.cookies = dict(client.cookies)
        others.append(other)
    return others


def fetch(client, path):
    start = time.perf_counter()
    status, _headers, body = client.request("GET", path)
    elapsed = (time.perf_counter() - start) * 1000
    if status != 200:
        raise RuntimeError(f"{path} answered {status}: {body[:300]!r}")
    return elapsed, body


def fetch_all(chunk):
    client, tiles = chunk
    return [fetch(client, tile_path(tile)) for tile in tiles]


def measure_street_tiles(clients, views, rounds, warmup):
    """Per street view: per-tile and whole-view latency, and what the tiles hold."""
    streets = {key: view for key, view in views.items() if view["name"] == "street"}
    pools = {key: connections_like(clients[view["user"]], PARALLEL) for key, view in streets.items()}
    tile_samples = {key: [] for key in streets}
    view_samples = {key: [] for key in streets}
    last = {}
    with ThreadPoolExecutor(PARALLEL) as executor:
        for number in range(warmup + rounds):
            for key, view in streets.items():
                tiles = tiles_of(view["bbox"], view["zoom"])
                pool = pools[key]
                start = time.perf_counter()
                # Each connection takes every PARALLEL-th tile in turn, as a browser's queue would.
                chunks = [(pool[i], tiles[i::PARALLEL]) for i in range(PARALLEL)]
                answers = [answer for chunk in executor.map(fetch_all, chunks) for answer in chunk]
                whole = (time.perf_counter() - start) * 1000
                # Then each tile alone on the officer's own connection: the per-tile latency.
                alone = [fetch(clients[view["user"]], tile_path(tile)) for tile in tiles]
                if number >= warmup:
                    view_samples[key].append(whole)
                    tile_samples[key].extend(elapsed for elapsed, _body in alone)
                last[key] = (tiles, [body for _elapsed, body in answers])
    for pool in pools.values():
        for client in pool:
            client.close()
    return {key: summary(streets[key], tile_samples[key], view_samples[key], *last[key]) for key in streets}


def summary(view, tile_samples, view_samples, tiles, bodies):
    per_tile, whole = sorted(tile_samples), sorted(view_samples)
    answers = [json.loads(body) for body in bodies]
    return {"user": view["user"], "zoom": view["zoom"], "bbox": view["bbox"], "tiles": len(tiles),
            "tile_requests": len(per_tile),
            "tile_p50_ms": round(percentile(per_tile, 50), 2), "tile_p95_ms": round(percentile(per_tile, 95), 2),
            "view_p50_ms": round(percentile(whole, 50), 2), "view_p95_ms": round(percentile(whole, 95), 2),
            "points": sum(len(a["rows"]) for a in answers),
            "truncated_tiles": sum(1 for a in answers if a["truncated"]),
            "biggest_tile_bytes": max(len(b) for b in bodies), "view_bytes": sum(len(b) for b in bodies),
            "view_gzip_bytes": sum(len(gzip.compress(b, 6)) for b in bodies)}


def print_tiles(tiles, views, target_ms):
    """The tile path beside the old one, with ratios (old ÷ new)."""
    print("street view in tiles (/peta/titik/z/x/y.json) beside the old answer (/peta/data.json); ratio = old / new")
    for key, t in tiles.items():
        old = views[key]
        print(f"  {key}: {t['tiles']} tiles, {t['points']:,} points ({t['truncated_tiles']} tiles truncated) against "
              f"{old['items']:,} points{' (truncated)' if old['truncated'] else ''} in one answer")
        print(f"    per tile: p50 {t['tile_p50_ms']:.1f} ms, p95 {t['tile_p95_ms']:.1f} ms (target <= {target_ms}: "
              f"{'yes' if t['tile_p95_ms'] <= target_ms else 'NO'}), biggest tile {t['biggest_tile_bytes']:,} bytes;"
              f" p95 ratio {ratio(old['p95_ms'], t['tile_p95_ms'])}x")
        print(f"    whole view over {PARALLEL} connections: p50 {t['view_p50_ms']:.1f} ms, "
              f"p95 {t['view_p95_ms']:.1f} ms (old p95 {old['p95_ms']:.1f} ms: "
              f"ratio {ratio(old['p95_ms'], t['view_p95_ms'])}x); all tiles "
              f"{t['view_bytes']:,} bytes, {t['view_gzip_bytes']:,} gzip (old {old['bytes']:,}: ratio "
              f"{ratio(old['bytes'], t['view_bytes'])}x)")


def ratio(old, new):
    return round(old / new, 2) if new else None
