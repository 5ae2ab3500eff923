"""Benchmark of image uploads: N photos of 5 MB sent in one multipart request, and in the chunked flow of the web
page (a partial task, 2 MB chunks, 2 files at a time, then commit); MB/s and the server's memory growth.

Usage: .venv/bin/python bench/upload.py [--quick] [--images N] [--image-mb MB] [--runs N]
                                        [--base URL --username U --password P [--server-pid PID]]
Without --base it starts its own Aerie from this checkout on free ports (see bench/common.py); no worker runs, so
the uploaded tasks are not processed. With --base the tasks it creates are deleted right after each upload, and
the memory figures need --server-pid (the gunicorn master's process id).
The photos are valid JPEGs (one small noisy JPEG made with Pillow, padded after its end marker with random bytes
to the size asked), made once per run in a temporary folder. Memory is the summed RSS of the gunicorn worker
processes, sampled every 10 ms in a thread: before the upload, and its peak during it.
--quick: 20 photos, one run of each flow, under a minute.
Prints one figure per line: `name value unit`; times are medians over the runs, memory growth the largest.
"""
import argparse
import http.client
import io
import json
import multiprocessing
import os
import queue
import shutil
import socket
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from PIL import Image

from common import (MB, MemorySampler, Server, add_server_arguments, api_session, checked, cpu_seconds, figure,
                    median)

CHUNK_BYTES = 2 * MB  # the web page's chunk size (templates/tasks/new.html)
PARALLEL_FILES = 2  # files the web page sends at once (static/js/upload.js)
SEND_BLOCK = MB  # bytes handed to the socket at a time: the client must cost little next to the server


def parse_args():
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20 photos, one run: under a minute")
    parser.add_argument("--images", type=int, help="photos per upload (default 50, 20 with --quick)")
    parser.add_argument("--image-mb", type=float, default=5.0, help="size of each photo in MB (2**20 bytes)")
    parser.add_argument("--runs", type=int, help="runs of each flow (default 3, 1 with --quick)")
    add_server_arguments(parser)
    return parser.parse_args()


def make_photos(folder, count, size):
    """`count` distinct valid JPEGs of exactly `size` bytes: a noisy Pillow JPEG padded with random bytes."""
    noise = Image.frombytes("RGB", (640, 480), os.urandom(640 * 480 * 3))
    encoded = io.BytesIO()
    noise.save(encoded, "JPEG", quality=90)
    head = encoded.getvalue()
    paths = []
    for number in range(count):
        path = folder / f"DJI_{number:04d}.JPG"
        with open(path, "wb") as out:
            out.write(head)
            out.write(os.urandom(size - len(head)))  # after the end-of-image marker: decoders ignore it
        paths.append(path)
    return paths


class MultipartBody:
    """A multipart/form-data body read from files on disk as it is sent, so the client holds no file in memory."""

    def __init__(self, fields, files):
        """fields: [(name, text)]; files: [(field, file name, path or bytes)]."""
        self.boundary = uuid.uuid4().hex
        self.segments = []  # bytes, or an open file to read to its end
        for name, value in fields:
            self.segments.append(self._head(name) + b"\r\n" + str(value).encode() + b"\r\n")
        for field, file_name, content in files:
            head = self._head(field, f'; filename="{file_name}"', "\r\nContent-Type: image/jpeg")
            self.segments += [head + b"\r\n", content if isinstance(content, bytes) else open(content, "rb"),
                              b"\r\n"]
        self.segments.append(f"--{self.boundary}--\r\n".encode())
        self.length = sum(len(s) if isinstance(s, bytes) else os.fstat(s.fileno()).st_size for s in self.segments)
        self.content_type = f"multipart/form-data; boundary={self.boundary}"

    def _head(self, name, extra="", headers=""):
        """The boundary line and headers of one part, up to its blank line."""
        return f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"{extra}{headers}\r\n'.encode()

    def read(self, size=-1):
        """The next bytes of the body (at most size; b"" at the end)."""
        while self.segments:
            segment = self.segments[0]
            if isinstance(segment, bytes):
                self.segments.pop(0)
                if segment:
                    return segment
                continue
            data = segment.read(size)
            if data:
                return data
            segment.close()
            self.segments.pop(0)
        return b""


class Uploader:
    """Posts multipart bodies over one kept-alive HTTP connection with the session's token."""

    def __init__(self, base, authorization):
        address = urlsplit(base)
        self.prefix = address.path.rstrip("/")
        self.connection = http.client.HTTPConnection(address.hostname, address.port or 80, timeout=600,
                                                     blocksize=SEND_BLOCK)
        self.authorization = authorization

    def post(self, path, fields, files, expected):
        """POST the multipart body; its JSON answer, or RuntimeError when the status is not the expected one."""
        body = MultipartBody(fields, files)
        self.connection.request("POST", self.prefix + path, body=body, headers={
            "Content-Type": body.content_type, "Content-Length": str(body.length),
            "Authorization": self.authorization})
        response = self.connection.getresponse()
        answer = response.read()
        if response.status != expected:
            raise RuntimeError(f"POST {path} answered {response.status}: {answer[:500]!r}")
        return json.loads(answer)

    def close(self):
        """Close the connection."""
        self.connection.close()


def upload_whole(server, session, project, photos):
    """Create a task with every photo in one request; its id."""
    uploader = Uploader(server.base, session.headers["Authorization"])
    try:
        files = [("images", p.name, p) for p in photos]
        return uploader.post(f"/api/projects/{project}/tasks/", [("name", "Bench whole upload")], files, 201)["id"]
    finally:
        uploader.close()


def send_chunks(server, authorization, path, files, failures):
    """Send files from the queue chunk by chunk until it is empty (one of the web page's parallel senders)."""
    uploader = Uploader(server.base, authorization)
    try:
        while True:
            try:
                photo = files.get_nowait()
            except queue.Empty:
                return
            total, upload_id = photo.stat().st_size, uuid.uuid4().hex
            count = -(-total // CHUNK_BYTES)
            with open(photo, "rb") as source:
                for index in range(count):
                    chunk = source.read(CHUNK_BYTES)
                    fields = [("dzuuid", upload_id), ("dzchunkindex", index), ("dztotalchunkcount", count),
                              ("dzchunkbyteoffset", index * CHUNK_BYTES), ("dztotalfilesize", total)]
                    uploader.post(path, fields, [("images", photo.name, chunk)], 200)
    except Exception as error:  # reported by the main thread
        failures.append(error)
    finally:
        uploader.close()


def upload_chunked(server, session, project, photos):
    """Create a partial task, send the photos in chunks as the web page does, commit; the task's id."""
    base = f"{server.base}/api/projects/{project}/tasks"
    task = checked(session.post(f"{base}/", data={"partial": "true", "name": "Bench chunked upload"}), 201).json()
    files, failures = queue.Queue(), []
    for photo in photos:
        files.put(photo)
    path = f"{urlsplit(base).path}/{task['id']}/upload/"
    senders = [threading.Thread(target=send_chunks, args=(server, session.headers["Authorization"], path, files,
                                                         failures)) for _ in range(PARALLEL_FILES)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    if failures:
        raise failures[0]
    committed = checked(session.post(f"{base}/{task['id']}/commit/"), 200).json()
    if committed["images_count"] != len(photos):
        raise RuntimeError(f"committed {committed['images_count']} images of {len(photos)}")
    return task["id"]


def receive_to_disk(ports, folder):
    """The ceiling's receiver (a process of its own): each connection's bytes to a file, then one byte back."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        ports.put(listener.getsockname()[1])
        while True:
            connection, _ = listener.accept()
            target = Path(folder) / "raw-copy"
            with connection, open(target, "wb") as out:
                while block := connection.recv(SEND_BLOCK):
                    out.write(block)
                connection.sendall(b"k")
            target.unlink()


class RawCopy:
    """The machine's own limit for an upload: the same multipart bytes sent over loopback by the same client code to
    a process that only writes them to disk (no HTTP, no parsing), as a flow for timed()."""

    def __init__(self, folder):
        context = multiprocessing.get_context("spawn")
        ports = context.Queue()
        self.receiver = context.Process(target=receive_to_disk, args=(ports, str(folder)), daemon=True)
        self.receiver.start()
        self.port = ports.get(timeout=60)

    def __call__(self, photos):
        """Send every photo as one multipart body and wait for the receiver to have written it."""
        body = MultipartBody([("name", "Bench raw copy")], [("images", p.name, p) for p in photos])
        with socket.create_connection(("127.0.0.1", self.port)) as connection:
            while block := body.read(SEND_BLOCK):
                connection.sendall(block)
            connection.shutdown(socket.SHUT_WR)
            connection.recv(1)

    def close(self):
        """Stop the receiver."""
        self.receiver.terminate()
        self.receiver.join(timeout=10)


def timed_raw_copy(raw_copy, photos):
    """Seconds of one raw copy of the photos."""
    started = time.perf_counter()
    raw_copy(photos)
    return time.perf_counter() - started


def timed(server, session, project, photos, flow):
    """(seconds, worker RSS before in bytes, peak growth of the summed RSS in bytes, workers' CPU seconds) of one
    upload; deletes the task afterwards."""
    workers = server.workers()
    with MemorySampler(workers) as memory:
        cpu_before = cpu_seconds(workers)
        started = time.perf_counter()
        task_id = flow(server, session, project, photos)
        seconds = time.perf_counter() - started
        cpu = cpu_seconds(workers) - cpu_before
    checked(session.delete(f"{server.base}/api/projects/{project}/tasks/{task_id}/"), 204)
    return seconds, memory.before, memory.peak - memory.before, cpu


def warm_up(server, session, project, photos):
    """Small uploads over fresh connections, so every worker has loaded what an upload needs before we measure."""
    for _ in range(2 * max(1, len(server.workers()))):
        for flow in (upload_whole, upload_chunked):
            task_id = flow(server, session, project, photos[:2])
            checked(session.delete(f"{server.base}/api/projects/{project}/tasks/{task_id}/"), 204)


def run(server, photos, runs, raw_copy):
    """Time each flow `runs` times (alternating with the raw copy, the ceiling) and print the figures."""
    session = api_session(server.base, server.username, server.password)
    project = checked(session.post(f"{server.base}/api/projects/", data={"name": "Bench uploads"}), 201).json()["id"]
    try:
        warm_up(server, session, project, photos)
        total_mb = sum(p.stat().st_size for p in photos) / MB
        results, ceiling = {"whole": [], "chunked": []}, []
        raw_copy(photos)  # warm up
        for _ in range(runs):
            for name, flow in (("whole", upload_whole), ("chunked", upload_chunked)):
                ceiling.append(timed_raw_copy(raw_copy, photos))
                results[name].append(timed(server, session, project, photos, flow))
        figure("images", len(photos), "count")
        figure("upload_mb", total_mb, "MB")
        raw_seconds = median(ceiling)
        figure("upload_raw_copy_seconds", raw_seconds, "s")
        figure("upload_raw_copy_rate", total_mb / raw_seconds, "MB/s")
        for name, series in results.items():
            seconds = median([s for s, _, _, _ in series])
            figure(f"upload_{name}_seconds", seconds, "s")
            figure(f"upload_{name}_rate", total_mb / seconds, "MB/s")
            figure(f"upload_{name}_times_raw_copy", seconds / raw_seconds, "x")
            if server.master is not None:
                figure(f"upload_{name}_server_cpu", median([c for _, _, _, c in series]), "s")
                figure(f"upload_{name}_server_rss_before", median([b for _, b, _, _ in series]) / MB, "MB")
                figure(f"upload_{name}_server_rss_growth", max(g for _, _, g, _ in series) / MB, "MB")
    finally:
        session.delete(f"{server.base}/api/projects/{project}/")


def main():
    """Make the photos, run the benchmark, clean up."""
    args = parse_args()
    count = args.images or (20 if args.quick else 50)
    runs = args.runs or (1 if args.quick else 3)
    folder = Path(tempfile.mkdtemp(prefix="aerie-bench-photos-"))
    try:
        photos = make_photos(folder, count, int(args.image_mb * MB))
        raw_copy = RawCopy(folder)
        try:
            with Server(args) as server:
                run(server, photos, runs, raw_copy)
        finally:
            raw_copy.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
