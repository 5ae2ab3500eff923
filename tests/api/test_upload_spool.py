"""Big uploads are spooled beside the media and stored by a hard link: exact bytes, nothing left behind."""
import io

import requests

from tests.support.images import jpeg_bytes
from tests.support.web import auth
from webapp import storage
from webapp.models import Task


def big_jpeg(seed):
    """A valid JPEG padded past the in-memory threshold (so it is spooled to disk)."""
    return jpeg_bytes(color=(seed, 80, 80)) + bytes([seed]) * (700 * 1024)


def test_big_images_are_stored_exactly_and_the_spool_is_emptied(client, users, project):
    images = {f"big{n}.jpg": big_jpeg(n) for n in range(3)}
    response = client.post(f"/api/projects/{project.id}/tasks/", headers=auth(users["owner"]),
                           data={"images": [(io.BytesIO(content), name) for name, content in images.items()]},
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    task = Task.query.one()
    folder = storage.images_dir(project.id, task.id)
    for name, content in images.items():
        assert (folder / name).read_bytes() == content
        assert (folder / name).stat().st_nlink == 1  # the spooled temporary file is gone
    assert list(storage.spool_dir().iterdir()) == []


def test_big_chunks_in_any_order_are_copied_into_place_exactly(client, users, project):
    # Chunks above the in-memory threshold are spooled to disk, then copied at their offset.
    headers = auth(users["owner"])
    created = client.post(f"/api/projects/{project.id}/tasks/", headers=headers, data={"partial": "true"})
    url = f"/api/projects/{project.id}/tasks/{created.json['id']}/upload/"
    photo = jpeg_bytes(color=(9, 80, 80)) + bytes(range(256)) * 9000  # about 2.3 MB
    size = 600 * 1024
    pieces = [photo[i:i + size] for i in range(0, len(photo), size)]
    for index in (3, 0, 2, 1, 0):  # out of order, the first chunk twice
        form = {"images": [(io.BytesIO(pieces[index]), "big.jpg")], "dzuuid": "big-chunks",
                "dzchunkindex": str(index), "dztotalchunkcount": str(len(pieces)),
                "dzchunkbyteoffset": str(index * size), "dztotalfilesize": str(len(photo))}
        assert client.post(url, headers=headers, data=form).status_code == 200
    assert len(pieces) == 4
    assert (storage.images_dir(project.id, created.json["id"]) / "big.jpg").read_bytes() == photo
    assert list(storage.spool_dir().iterdir()) == []


def test_a_big_body_sent_in_http_chunks_is_read_whole(client, users, project):
    # A body of unknown length (Transfer-Encoding: chunked) goes through the same 1 MB buffer.
    images = {f"streamed{n}.jpg": big_jpeg(n) for n in range(2)}
    body = io.BytesIO()
    boundary = "aerie-test-boundary"
    for name, content in images.items():
        body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="images"; filename="{name}"\r\n'
                   f'Content-Type: image/jpeg\r\n\r\n'.encode() + content + b"\r\n")
    body.write(f"--{boundary}--\r\n".encode())
    body.seek(0)
    response = client.post(f"/api/projects/{project.id}/tasks/", input_stream=body,
                           headers={**auth(users["owner"]), "Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True},  # as gunicorn says of such bodies
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 201, response.get_json()
    folder = storage.images_dir(project.id, response.json["id"])
    for name, content in images.items():
        assert (folder / name).read_bytes() == content


def test_a_big_upload_over_a_server_that_hands_over_its_raw_connection(live_server, users, project):
    # Werkzeug's own server gives the app the connection itself: reading past the body would wait for the
    # client's next request (the buffer of big bodies must stop at Content-Length). A timeout turns a hang into
    # a failure.
    images = {f"served{n}.jpg": big_jpeg(n) for n in range(3)}
    response = requests.post(f"{live_server}/api/projects/{project.id}/tasks/", headers=auth(users["owner"]),
                             files=[("images", (name, content, "image/jpeg")) for name, content in images.items()],
                             timeout=60)
    assert response.status_code == 201, response.text
    folder = storage.images_dir(project.id, response.json()["id"])
    for name, content in images.items():
        assert (folder / name).read_bytes() == content
