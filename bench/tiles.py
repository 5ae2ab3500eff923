"""Benchmark of the tile service: tiles per second of a large synthetic orthophoto COG, cold and cached.

First the service layer in this process, then the same over HTTP: gunicorn started from this checkout on a free
loopback port, with a temporary INSTANCE_DIR holding a user, an API token and a completed task whose assets
folder holds the generated orthophoto.

Usage: .venv/bin/python bench/tiles.py [--quick] [--size PIXELS] [--tiles N] [--no-http] [--http-workers N]
Prints one figure per line: `name value unit`.
"""
import argparse
import io
import multiprocessing
import os
import shutil
import socket
import subprocess
import random
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import morecantile
import numpy
import psutil
import rasterio
from rasterio.enums import ColorInterp
from rasterio.errors import NotGeoreferencedWarning
from rasterio.transform import from_origin
from rasterio.windows import Window
from rio_tiler.io import Reader
import requests
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import cpu_seconds  # noqa: E402  (bench/ is this script's folder)
from webapp.services import tile_pyramids, tiles  # noqa: E402
from webapp.services.rasters import make_cog  # noqa: E402

WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")
LAYER = "orthophoto"
CLIENTS = 4
CACHED_PASSES = 20


def figure(name, value, unit):
    """Print one benchmark figure."""
    print(f"{name} {round(value, 1):g} {unit}", flush=True)


def write_orthophoto(path, size):
    """A size x size RGBA orthophoto in UTM with a noisy texture and a ragged transparent border, as a COG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = numpy.random.default_rng(0)
    profile = dict(driver="GTiff", width=size, height=size, count=4, dtype="uint8", crs="EPSG:32633",
                   transform=from_origin(500000.0, 5000000.0, 0.03, 0.03), tiled=True, blockxsize=512,
                   blockysize=512)
    columns = numpy.arange(size, dtype=numpy.float32)
    with rasterio.open(path, "w", **profile) as dst:
        dst.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha]
        for top in range(0, size, 512):
            rows = numpy.arange(top, min(top + 512, size), dtype=numpy.float32)[:, None]
            texture = 60 * numpy.sin(columns / 37) + 40 * numpy.sin(rows / 53) + 30 * numpy.sin((rows + columns) / 11)
            noise = rng.normal(0, 12, (3, len(rows), size))
            band = numpy.clip(120 + texture + noise + numpy.array([10, 0, -20])[:, None, None], 0, 255)
            # Data inside an ellipse with a wobbly edge, like a real survey's footprint.
            radius = numpy.hypot((columns - size / 2) / (size / 2), (rows - size / 2) / (size / 2))
            alpha = numpy.where(radius < 0.95 + 0.04 * numpy.sin(columns / 200), 255, 0)
            dst.write(numpy.concatenate([band, alpha[None]]).astype(numpy.uint8),
                      window=Window(0, top, size, len(rows)))
    started = time.perf_counter()
    make_cog(path)
    return time.perf_counter() - started


def write_dsm(path, size):
    """A size x size float32 DSM of rolling hills in UTM, with nodata outside a circle, as a COG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = dict(driver="GTiff", width=size, height=size, count=1, dtype="float32", crs="EPSG:32633",
                   nodata=-9999, transform=from_origin(500000.0, 5000000.0, 0.06, 0.06), tiled=True,
                   blockxsize=512, blockysize=512)
    columns = numpy.arange(size, dtype=numpy.float32)
    with rasterio.open(path, "w", **profile) as dst:
        for top in range(0, size, 512):
            rows = numpy.arange(top, min(top + 512, size), dtype=numpy.float32)[:, None]
            elevation = 100 + 5 * numpy.sin(columns / 150) + 4 * numpy.cos(rows / 90) + 0.002 * columns
            outside = numpy.hypot(columns - size / 2, rows - size / 2) > size * 0.48
            dst.write(numpy.where(outside, -9999, elevation).astype(numpy.float32), 1,
                      window=Window(0, top, size, len(rows)))
    make_cog(path)


def pick_tiles(assets, count, seed, layer=LAYER):
    """`count` distinct tiles with data, spread evenly over the native zoom levels, shuffled."""
    path = assets / tiles.LAYER_FILES[layer]
    with Reader(str(path)) as reader:
        zooms = range(reader.minzoom, reader.maxzoom + 2)  # native levels and one overzoom, as a viewer does
        west, south, east, north = reader.get_geographic_bounds(morecantile.models.WGS84_CRS)
        per_zoom = {z: [t for t in WEB_MERCATOR.tiles(west, south, east, north, [z])
                        if reader.tile_exists(t.x, t.y, t.z)] for z in zooms}
    rng = random.Random(seed)
    chosen, share = [], max(1, count // len(per_zoom))
    for z, candidates in per_zoom.items():
        chosen += rng.sample(candidates, min(share, len(candidates)))
    leftovers = [t for z in per_zoom for t in per_zoom[z] if t not in chosen]
    chosen += rng.sample(leftovers, min(count - len(chosen), len(leftovers)))
    rng.shuffle(chosen)
    return [(t.z, t.x, t.y) for t in chosen[:count]]


def fetch_all(cache_dir, assets, tile_list, layer=LAYER, **params):
    """Fetch tiles through the cache one after the other; return how many came from the cache."""
    hits = 0
    for z, x, y in tile_list:
        try:
            hits += tiles.cached_tile(cache_dir, assets, layer, z, x, y, **params).hit
        except tiles.TileNotFound:
            pass  # a tile of the viewer's overzoom can touch the bounds' corner without data
    return hits


def warm_up(assets):
    """Open the reader and compute the layer's information, as a long-running worker already has."""
    tiles.tilejson(assets, LAYER, "")


def timed_single(cache_dir, assets, tile_list):
    """Tiles per second for one client."""
    started = time.perf_counter()
    fetch_all(cache_dir, assets, tile_list)
    return len(tile_list) / (time.perf_counter() - started)


def cold_cpu_per_tile(cache_dir, assets, tile_list):
    """CPU time of this process per cold tile: what a render costs, much less moved by other work than wall time."""
    started = time.process_time()
    fetch_all(cache_dir, assets, tile_list)
    return (time.process_time() - started) * 1000 / len(tile_list)


def timed_threads(cache_dir, assets, tile_lists):
    """Tiles per second for several clients as threads of one process."""
    barrier = threading.Barrier(len(tile_lists) + 1)

    def client(tile_list):
        warm_up(assets)
        barrier.wait()
        fetch_all(cache_dir, assets, tile_list)

    threads = [threading.Thread(target=client, args=(lst,)) for lst in tile_lists]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return sum(map(len, tile_lists)) / (time.perf_counter() - started)


def process_client(cache_dir, assets, tile_list, barrier, done):
    """One client process (as a gunicorn worker): warm up, wait for the start, fetch, report."""
    warm_up(assets)
    barrier.wait()
    fetch_all(cache_dir, assets, tile_list)
    done.put(len(tile_list))


def timed_processes(cache_dir, assets, tile_lists):
    """Tiles per second for several clients as separate processes (spawned: no GDAL state is forked)."""
    context = multiprocessing.get_context("spawn")
    barrier, done = context.Barrier(len(tile_lists) + 1), context.Queue()
    workers = [context.Process(target=process_client, args=(cache_dir, assets, lst, barrier, done))
               for lst in tile_lists]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    fetched = sum(done.get() for _ in workers)
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.join()
    return fetched / elapsed


def run(size, tiles_per_client, http=True, http_workers=2, service=True):
    """Generate the orthophoto and print every figure (service: those of the tile service in this process)."""
    with tempfile.TemporaryDirectory(prefix="aerie-bench-tiles-") as temp:
        temp = Path(temp)
        assets = temp / "assets"
        cog_seconds = write_orthophoto(assets / tiles.LAYER_FILES[LAYER], size)
        figure("make_cog_seconds", cog_seconds, "s")
        started = time.perf_counter()
        tile_pyramids.make_pyramids(assets, tiles.LAYER_FILES)  # the map's copy, as the results' extraction makes
        figure("make_pyramid_seconds", time.perf_counter() - started, "s")
        figure("orthophoto_size", size, "px")
        figure("tiles_per_client_cold", tiles_per_client, "tiles")
        if service:
            run_service(temp, assets, size, tiles_per_client)
        if http:
            run_http(temp, assets, tiles_per_client, http_workers)


def run_service(temp, assets, size, tiles_per_client):
    """Print the tile service's figures, in this process: plain, DSM and index tiles, cold and cached."""
    all_tiles = pick_tiles(assets, tiles_per_client * (1 + 2 * CLIENTS), seed=1)
    single, rest = all_tiles[:tiles_per_client], all_tiles[tiles_per_client:]
    threaded = [rest[i::2 * CLIENTS] for i in range(CLIENTS)]
    processes = [rest[i::2 * CLIENTS] for i in range(CLIENTS, 2 * CLIENTS)]
    warm_up(assets)
    for mode, timer, lists in (("1client", timed_single, single),
                               (f"{CLIENTS}threads", timed_threads, threaded),
                               (f"{CLIENTS}processes", timed_processes, processes)):
        cache = temp / f"cache-{mode}"
        figure(f"tiles_cold_{mode}", timer(cache, assets, lists), "tiles/s")
        # A cached fetch takes microseconds: go over the tiles many times to time more than jitter.
        figure(f"tiles_cached_{mode}", timer(cache, assets, lists * CACHED_PASSES if mode == "1client"
                                             else [lst * CACHED_PASSES for lst in lists]), "tiles/s")
    run_dsm(temp, size // 2, tiles_per_client)
    run_index(temp, assets, all_tiles[:tiles_per_client])
    others = pick_tiles(assets, tiles_per_client, seed=7)  # mostly tiles not rendered yet
    figure("tiles_cold_cpu_per_tile", cold_cpu_per_tile(temp / "cache-cpu", assets, others), "ms")
    figure("tiles_encode_only_ceiling", encode_only_rate(assets, others), "tiles/s")


def encode_only_rate(assets, tile_list):
    """Tiles per second of PNG encoding alone, over the same tiles' pixels read beforehand: what a cold tile could
    come at if reading it cost nothing (the bare tile encode, a cold tile's ceiling)."""
    decoded = []
    for tile in tile_list:
        try:
            decoded.append(numpy.asarray(Image.open(io.BytesIO(tiles.render_tile(assets, LAYER, *tile)[0]))))
        except tiles.TileNotFound:
            pass
    started = time.perf_counter()
    for rgba in decoded:
        tiles.encode_rgba(rgba, "PNG")
    return len(decoded) / (time.perf_counter() - started)


def run_dsm(temp, size, count):
    """Print the cold rate of one client on a DSM, plain and hillshaded."""
    assets = temp / "dsm-assets"
    write_dsm(assets / tiles.LAYER_FILES["dsm"], size)
    tile_pyramids.make_pyramids(assets, tiles.LAYER_FILES)
    figure("dsm_size", size, "px")
    tiles.tilejson(assets, "dsm", "")  # warm up: reader and elevation statistics
    tile_list = pick_tiles(assets, count * 2, seed=2, layer="dsm")
    for name, params, chosen in (("dsm", {}, tile_list[:count]),
                                 ("dsm_hillshade", {"hillshade": True}, tile_list[count:])):
        started, cpu = time.perf_counter(), time.process_time()
        fetch_all(temp / f"cache-{name}", assets, chosen, "dsm", **params)
        figure(f"tiles_cold_{name}_1client", len(chosen) / (time.perf_counter() - started), "tiles/s")
        figure(f"tiles_cold_{name}_cpu_per_tile", (time.process_time() - cpu) * 1000 / len(chosen), "ms")


def run_index(temp, assets, tile_list):
    """Print the cold and cached rates of one client on plant-health (VARI) tiles of the orthophoto."""
    style = tiles.TileStyle(formula="VARI", bands="RGB")
    cache = temp / "cache-index"
    for name, passes in (("cold", 1), ("cached", CACHED_PASSES)):
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(passes):
            fetch_all(cache, assets, tile_list, style=style)
        figure(f"tiles_{name}_index_vari_1client", len(tile_list) * passes / (time.perf_counter() - started),
               "tiles/s")
        if name == "cold":
            figure("tiles_cold_index_vari_cpu_per_tile", (time.process_time() - cpu) * 1000 / len(tile_list), "ms")


# --- over HTTP, through gunicorn ----------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def free_port():
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_instance(instance, source_assets):
    """A fresh instance: database, a user with an API token, and a completed task holding the orthophoto.

    Returns (task's API URL prefix, API token).
    """
    from webapp import create_app, storage
    from webapp.config import TestConfig
    from webapp.extensions import db
    from webapp.models import Project, Task, TaskStatus
    from webapp.services import accounts, tokens

    app = create_app(TestConfig(instance))
    with app.app_context():
        db.create_all()
        user = accounts.create_user("bench", "bench-password-not-secret")
        project = Project(owner_id=user.id, name="Tile benchmark")
        db.session.add(project)
        db.session.commit()
        task = Task(project_id=project.id, name="orthophoto", status=TaskStatus.COMPLETED,
                    available_assets=["orthophoto.tif"])
        db.session.add(task)
        db.session.commit()
        assets = storage.assets_dir(project.id, task.id)
        for source in [source_assets / tiles.LAYER_FILES[LAYER], *source_assets.glob(f"{tile_pyramids.PYRAMID_DIR}/*")]:
            target = assets / source.relative_to(source_assets)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, target)  # the same file, no copy of a large raster (and the same version)
            except OSError:
                shutil.copy2(source, target)
        _, secret = tokens.create_api_token(user, "benchmark")
        prefix = f"/api/projects/{project.id}/tasks/{task.id}/"
        db.session.remove()
        db.engine.dispose()
    return prefix, secret


def start_gunicorn(instance, port, workers, app="app:app", probe="/api/openapi.json", **env_vars):
    """gunicorn serving app:app from this checkout, as `make run` starts it; returns the process once it answers."""
    env = dict(os.environ, INSTANCE_DIR=str(instance), SECRET_KEY="bench-secret", PYTHONUNBUFFERED="1",
               PYTHONPATH=str(ROOT / "bench"), **env_vars)
    env.pop("DATABASE_URL", None), env.pop("MEDIA_ROOT", None)
    log = open(instance / "gunicorn.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers",
                                str(workers), "--threads", "8", "--timeout", "300", "--no-control-socket", app],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited; see {instance / 'gunicorn.log'}")
        try:
            requests.get(f"http://127.0.0.1:{port}{probe}", timeout=1)
            return process
        except requests.RequestException:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("gunicorn did not answer within 60 s")


def tile_url(template, z, x, y):
    """A tile's URL from an XYZ template (its query, such as a signature, kept)."""
    return template.replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y))


def http_fetch(session, template, tile_list, etags=None):
    """GET tiles one after the other; with etags (a dict), send If-None-Match and count the 304 answers."""
    not_modified = 0
    for z, x, y in tile_list:
        key = (z, x, y)
        headers = {"If-None-Match": etags[key]} if etags and key in etags else {}
        response = session.get(tile_url(template, z, x, y), headers=headers, timeout=120)
        if response.status_code == 304:
            not_modified += 1
        elif response.status_code == 200:
            if etags is not None:
                etags[key] = response.headers["ETag"]
        elif response.status_code != 404:  # an overzoom tile can touch the corner of the bounds without data
            raise RuntimeError(f"tile {key}: HTTP {response.status_code} {response.text[:200]}")
    return not_modified


def timed_http_clients(template, tile_lists, headers=None, etags=None):
    """(tiles fetched, seconds) for clients fetching their lists at the same time, each with its own connection.

    headers (the API token) go with every request; without them the template must carry its own access (a
    signed URL from TileJSON, or the empty app's).
    """
    sessions = []
    for _ in tile_lists:
        session = requests.Session()
        session.headers.update(headers or {})
        session.get(tile_url(template, *tile_lists[0][0]), timeout=60)  # connect and warm up
        sessions.append(session)
    barrier = threading.Barrier(len(tile_lists) + 1)

    def client(session, tile_list):
        barrier.wait()
        http_fetch(session, template, tile_list, etags)

    threads = [threading.Thread(target=client, args=pair) for pair in zip(sessions, tile_lists)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    for session in sessions:
        session.close()
    return sum(map(len, tile_lists)), elapsed


def tile_bytes(assets, tile):
    """A tile's PNG as the server sends it, or b"" where it has no data."""
    try:
        return tiles.render_tile(assets, LAYER, *tile)[0]
    except tiles.TileNotFound:
        return b""


class Ceiling:
    """bench/empty_app.py (answers 20 KB, does nothing) on the same gunicorn setup, fetched through the same
    client code as the tiles: the requests per second this machine allows before any work of ours."""

    def __init__(self, temp, workers, body_bytes):
        folder = temp / "empty"
        folder.mkdir()
        port = free_port()
        self.server = start_gunicorn(folder, port, workers, app="empty_app:app", probe="/",
                                     EMPTY_APP_BYTES=str(body_bytes))
        self.template = f"http://127.0.0.1:{port}/{{z}}/{{x}}/{{y}}.png"

    def timed(self, tile_lists):
        """(requests, seconds, server CPU seconds) of the empty app for as many clients and requests as tile_lists."""
        return timed_with_cpu(self.server, self.template, tile_lists)

    def close(self):
        """Stop the empty app's server."""
        self.server.terminate()
        self.server.wait(timeout=30)


def timed_with_cpu(server, template, tile_lists, headers=None, etags=None):
    """timed_http_clients, plus the CPU seconds the server's workers used meanwhile."""
    workers = psutil.Process(server.pid).children()
    cpu = cpu_seconds(workers)
    count, elapsed = timed_http_clients(template, tile_lists, headers, etags)
    return count, elapsed, cpu_seconds(workers) - cpu


def paired(server, ceiling, template, tile_lists, headers=None, etags=None, rounds=1):
    """Tiles/s and server CPU ms per tile, and the same of the empty app: rounds of the tiles, each followed by as
    many requests to the empty app, so that both see the same load of the machine (which moves by a factor of
    two within a minute)."""
    totals = numpy.zeros(6)
    for _ in range(rounds):
        totals[:3] += timed_with_cpu(server, template, tile_lists, headers, etags)
        totals[3:] += ceiling.timed(tile_lists)
    done, seconds, cpu, empty_done, empty_seconds, empty_cpu = totals
    return done / seconds, 1000 * cpu / done, empty_done / empty_seconds, 1000 * empty_cpu / empty_done


def run_http(temp, assets, tiles_per_client, workers):
    """Print cold, cached and revalidated (304) tiles per second over HTTP, for one client and CLIENTS at once,
    with an API token (as WebODM clients) and through the signed URLs of TileJSON (as the map page); beside each,
    the empty app's requests per second measured alternately with it (`_ceiling`) and the share of it."""
    # Twice the tiles: the second half is fetched cold through the signed URLs, as the map page fetches them.
    all_tiles = pick_tiles(assets, 2 * tiles_per_client * (1 + CLIENTS), seed=3)
    all_tiles, signed_tiles = all_tiles[::2], all_tiles[1::2]
    sizes = [len(content) for content in map(lambda tile: tile_bytes(assets, tile), all_tiles[:10]) if content]
    figure("http_tile_mean_bytes", sum(sizes) / len(sizes), "bytes")
    ceiling = Ceiling(temp, workers, round(sum(sizes) / len(sizes)))
    instance = temp / "instance"
    base_path, secret = prepare_instance(instance, assets)
    port = free_port()
    server = start_gunicorn(instance, port, workers)

    def http_figure(name, rates):
        """A tiles/s figure, the empty app's requests/s measured with it, and its share of them; the same of the
        servers' CPU per request (which the machine's load moves least)."""
        value, cpu, empty, empty_cpu = rates
        figure(name, value, "tiles/s")
        figure(f"{name}_ceiling", empty, "requests/s")
        figure(f"{name}_of_ceiling", 100 * value / empty, "%")
        print(f"{name}_server_cpu {cpu:.3f} ms")
        print(f"{name}_ceiling_server_cpu {empty_cpu:.3f} ms")

    try:
        figure("http_workers", workers, "processes")
        base = f"http://127.0.0.1:{port}{base_path}"
        token = {"Authorization": f"Bearer {secret}"}
        plain = f"{base}orthophoto/tiles/{{z}}/{{x}}/{{y}}.png"
        signed = requests.get(f"{base}orthophoto/tiles.json", headers=token, timeout=60).json()["tiles"][0]
        single, rest = all_tiles[:tiles_per_client], all_tiles[tiles_per_client:]
        together = [rest[i::CLIENTS] for i in range(CLIENTS)]
        signed_single, signed_rest = signed_tiles[:tiles_per_client], signed_tiles[tiles_per_client:]
        signed_lists = {"1client": [signed_single],
                        f"{CLIENTS}clients": [signed_rest[i::CLIENTS] for i in range(CLIENTS)]}
        for mode, lists in (("1client", [single]), (f"{CLIENTS}clients", together)):
            http_figure(f"http_tiles_cold_{mode}", paired(server, ceiling, plain, lists, token))
            if "sig=" in signed:
                http_figure(f"http_tiles_cold_signed_{mode}", paired(server, ceiling, signed, signed_lists[mode]))
            # (An Aerie from before signed tile URLs hands out none: then only the API token's figures.)
            accesses = (("", plain, token), ("_signed", signed, None)) if "sig=" in signed else (("", plain, token),)
            for access, template, headers in accesses:
                http_figure(f"http_tiles_cached{access}_{mode}",
                            paired(server, ceiling, template, lists, headers, rounds=CACHED_PASSES // 4))
                etags = {}
                with requests.Session() as session:
                    session.headers.update(headers or {})
                    http_fetch(session, template, [t for lst in lists for t in lst], etags)
                http_figure(f"http_tiles_304{access}_{mode}",
                            paired(server, ceiling, template, lists, headers, etags, rounds=CACHED_PASSES // 4))
    finally:
        server.terminate()
        server.wait(timeout=30)
        ceiling.close()


def main():
    """Parse the command line and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer tiles: a run under a minute")
    parser.add_argument("--size", type=int, default=8000, help="orthophoto width and height in pixels")
    parser.add_argument("--tiles", type=int, help="tiles per client (default 300, or 40 with --quick)")
    parser.add_argument("--no-http", action="store_true", help="the service layer only, no gunicorn run")
    parser.add_argument("--http-only", action="store_true", help="the HTTP figures only, no service-layer ones")
    parser.add_argument("--http-workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    args = parser.parse_args()
    # rio-tiler's PNG encoder silences this warning with catch_warnings, which is not thread-safe: with
    # several threads it leaks out. It says nothing about our tiles (image blobs have no georeferencing).
    warnings.simplefilter("ignore", NotGeoreferencedWarning)
    run(args.size, args.tiles or (40 if args.quick else 300), http=not args.no_http, http_workers=args.http_workers,
        service=not args.http_only)


if __name__ == "__main__":
    main()
