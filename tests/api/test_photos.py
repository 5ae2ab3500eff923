"""The task's photos on the map: thumbnails made on demand (upright, cached, with an ETag) and the originals, only
for those who may view the task; names that leave the images folder or are not photos are 404."""
import io

import pytest
from PIL import Image

from tests.support.web import auth
from tests.api.test_tiles import url
from tests.support import maps
from webapp import storage
from webapp.extensions import db


@pytest.fixture
def task(project):
    """A completed task with camera positions and their three photos."""
    return maps.completed_task(project)


def test_a_thumbnail_is_upright_sized_and_cached(client, users, task):
    headers = auth(users["viewer"])
    response = client.get(url(task, "images/thumbnail/DJI_0001.JPG?size=200"), headers=headers)
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    image = Image.open(io.BytesIO(response.data))
    assert image.size == (150, 200)  # 400 x 300 on its side (EXIF orientation 6), turned upright
    cached = list((storage.task_dir(task.project_id, task.id) / "cache" / "photos" / "200").iterdir())
    assert len(cached) == 1
    again = client.get(url(task, "images/thumbnail/DJI_0001.JPG?size=200"), headers={
        **headers, "If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    default = Image.open(io.BytesIO(client.get(url(task, "images/thumbnail/DJI_0001.JPG"), headers=headers).data))
    assert max(default.size) == 400  # 512 asked, never enlarged
    assert client.get(url(task, "images/thumbnail/DJI_0001.JPG?size=5000"), headers=headers).status_code == 400


def test_the_original_downloads_as_it_was_uploaded(client, users, task):
    response = client.get(url(task, "images/download/DJI_0002.JPG"), headers=auth(users["viewer"]))
    assert response.status_code == 200
    assert response.data == (storage.images_dir(task.project_id, task.id) / "DJI_0002.JPG").read_bytes()
    assert response.headers["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize("name", ["NOPE.JPG", "../assets/odm_orthophoto/odm_orthophoto.tif", "..%2Fsecret.jpg",
                                  "sub/DJI_0000.JPG", "notes.txt"])
def test_other_names_are_404(client, users, task, name):
    folder = storage.images_dir(task.project_id, task.id)
    (folder / "notes.txt").write_text("not a photo")
    for kind in ("thumbnail", "download"):
        response = client.get(url(task, f"images/{kind}/{name}"), headers=auth(users["owner"]))
        assert response.status_code == 404, (kind, name)


def test_a_file_named_as_a_photo_that_is_not_one_is_404(client, users, task):
    (storage.images_dir(task.project_id, task.id) / "BROKEN.JPG").write_bytes(b"not a jpeg")
    assert client.get(url(task, "images/thumbnail/BROKEN.JPG"), headers=auth(users["owner"])).status_code == 404


def test_strangers_and_visitors(client, users, task):
    assert client.get(url(task, "images/thumbnail/DJI_0000.JPG"), headers=auth(users["stranger"])).status_code == 404
    assert client.get(url(task, "images/download/DJI_0000.JPG")).status_code == 403
    task.public = True
    db.session.commit()
    assert client.get(url(task, "images/thumbnail/DJI_0000.JPG")).status_code == 200
