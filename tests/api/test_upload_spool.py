"""Big uploads are spooled beside the media and stored by a hard link: exact bytes, nothing left behind."""
import io

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
