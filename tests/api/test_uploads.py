"""The partial flow: create with partial=true, upload/ (whole files and chunks at their offsets), commit/."""
import io

import pytest

from tests.support.images import image_files, jpeg_bytes
from tests.support.web import auth

from webapp import queue, storage
from webapp.extensions import db
from webapp.models import Task, TaskStatus


@pytest.fixture
def partial(client, users, project):
    """A partial task created through the API; returns its URL."""
    response = client.post(f"/api/projects/{project.id}/tasks/", headers=auth(users["owner"]),
                           data={"partial": "true", "name": "Later", "options": "[]"})
    assert response.status_code == 201 and response.json["partial"] is True
    assert response.json["status"] is None and response.json["images_count"] == 0
    return f"/api/projects/{project.id}/tasks/{response.json['id']}"


def chunk_form(data, name, dz_uuid, index, count, offset, total):
    """The multipart fields of one chunk, as Dropzone sends them."""
    return {"images": [(io.BytesIO(data), name)], "dzuuid": dz_uuid, "dzchunkindex": str(index),
            "dztotalchunkcount": str(count), "dzchunkbyteoffset": str(offset), "dztotalfilesize": str(total)}


def send_in_chunks(client, url, headers, data, name, dz_uuid, size, order=None):
    """Upload data in chunks of size bytes, in the given order of chunk indexes; the last answer."""
    pieces = [data[i:i + size] for i in range(0, len(data), size)]
    response = None
    for index in order or range(len(pieces)):
        response = client.post(f"{url}/upload/", headers=headers, data=chunk_form(
            pieces[index], name, dz_uuid, index, len(pieces), index * size, len(data)))
        assert response.status_code == 200, response.json
    return response


def test_whole_files_then_commit_queues_processing(client, users, partial):
    headers = auth(users["editor"])
    first = client.post(f"{partial}/upload/", headers=headers, data={"images": image_files(1, "a")})
    assert first.status_code == 200 and first.json["success"] is True
    assert list(first.json["uploaded"]) == ["a0.jpg"] and first.json["uploaded"]["a0.jpg"] > 0
    assert client.post(f"{partial}/upload", headers=headers, data={"images": image_files(2, "b")}).status_code == 200
    task_id = int(partial.rsplit("/", 1)[1])
    assert queue.job_queue().fetch_job(f"task-{task_id}") is None  # nothing is processed before the commit
    committed = client.post(f"{partial}/commit/", headers=headers)
    assert committed.status_code == 200
    assert committed.json["partial"] is False and committed.json["status"] == TaskStatus.QUEUED
    assert committed.json["images_count"] == 3
    assert queue.job_queue().fetch_job(f"task-{task_id}").args == (task_id,)
    again = client.post(f"{partial}/upload/", headers=headers, data={"images": image_files(1, "c")})
    assert again.status_code == 400 and "detail" in again.json  # not receiving images any more


def test_chunks_in_any_order_and_retried_are_assembled_exactly(client, users, project, partial):
    headers = auth(users["owner"])
    photo = jpeg_bytes(size=(300, 200))
    size = len(photo) // 5 + 1  # five chunks
    last = send_in_chunks(client, partial, headers, photo, "big.jpg", "upload-1", size, order=[2, 0, 1, 0])
    assert last.json["uploaded"] == {"big.jpg": 3 * size}  # a retried chunk is counted once
    send_in_chunks(client, partial, headers, photo, "big.jpg", "upload-1", size, order=[4, 3])
    task_id = int(partial.rsplit("/", 1)[1])
    stored = storage.images_dir(project.id, task_id) / "big.jpg"
    assert stored.read_bytes() == photo
    retry_after_done = send_in_chunks(client, partial, headers, photo, "big.jpg", "upload-1", size, order=[1])
    assert retry_after_done.json["uploaded"] == {"big.jpg": len(photo)} and stored.read_bytes() == photo
    client.post(f"{partial}/upload/", headers=headers, data={"images": image_files(1)})
    assert client.post(f"{partial}/commit/", headers=headers).json["images_count"] == 2


def test_commit_of_an_incomplete_upload_is_refused(client, users, partial):
    headers = auth(users["owner"])
    client.post(f"{partial}/upload/", headers=headers, data={"images": image_files(2)})
    photo = jpeg_bytes()
    client.post(f"{partial}/upload/", headers=headers,
                data=chunk_form(photo[:500], "half.jpg", "half-1", 0, 2, 0, len(photo)))
    response = client.post(f"{partial}/commit/", headers=headers)
    assert response.status_code == 400 and "half.jpg" in response.json["detail"]
    db.session.expire_all()
    assert db.session.get(Task, int(partial.rsplit("/", 1)[1])).partial is True


def test_commit_with_fewer_than_two_images_is_refused(client, users, partial):
    headers = auth(users["owner"])
    client.post(f"{partial}/upload/", headers=headers, data={"images": image_files(1)})
    client.post(f"{partial}/upload/", headers=headers, data={"images": [(io.BytesIO(b"gcp"), "gcp.txt")]})
    response = client.post(f"{partial}/commit/", headers=headers)
    assert response.status_code == 400 and response.json == {"images": ["Need at least 2 images."]}


@pytest.mark.parametrize("fields, error_field", [
    ({"dzchunkbyteoffset": "900"}, "dzchunkbyteoffset"),
    ({"dzchunkindex": "5"}, "dzchunkindex"),
    ({"dzuuid": "../../etc"}, "dzuuid"),
    ({"dztotalfilesize": "-1"}, "dztotalfilesize"),
])
def test_bad_chunks_are_refused(client, users, partial, fields, error_field):
    form = chunk_form(b"x" * 200, "a.jpg", "u-1", 0, 2, 0, 1000)
    form.update(fields)
    response = client.post(f"{partial}/upload/", headers=auth(users["owner"]), data=form)
    assert response.status_code == 400 and error_field in response.json


def test_a_chunk_that_contradicts_its_upload_is_refused(client, users, partial):
    headers = auth(users["owner"])
    client.post(f"{partial}/upload/", headers=headers, data=chunk_form(b"x" * 100, "a.jpg", "u-2", 0, 2, 0, 200))
    response = client.post(f"{partial}/upload/", headers=headers,
                           data=chunk_form(b"x" * 100, "a.jpg", "u-2", 1, 2, 100, 999))
    assert response.status_code == 400 and "dzuuid" in response.json["detail"]


def test_a_chunked_non_image_is_refused_when_complete_and_not_kept(client, users, project, partial):
    headers = auth(users["owner"])
    data = b"MZ" + b"\0" * 1500
    client.post(f"{partial}/upload/", headers=headers, data=chunk_form(data[:1000], "x.jpg", "bad-1", 0, 2, 0, 1502))
    response = client.post(f"{partial}/upload/", headers=headers,
                           data=chunk_form(data[1000:], "x.jpg", "bad-1", 1, 2, 1000, 1502))
    assert response.status_code == 400 and response.json == {"images": ["Not an image: x.jpg."]}
    task_id = int(partial.rsplit("/", 1)[1])
    assert not (storage.images_dir(project.id, task_id) / "x.jpg").exists()
    client.post(f"{partial}/upload/", headers=headers, data={"images": image_files(2)})
    assert client.post(f"{partial}/commit/", headers=headers).status_code == 200  # not left pending


def test_a_bad_whole_file_keeps_what_was_stored(client, users, project, partial):
    headers = auth(users["owner"])
    good = image_files(1)
    client.post(f"{partial}/upload/", headers=headers, data={"images": good})
    task_id = int(partial.rsplit("/", 1)[1])
    stored = storage.images_dir(project.id, task_id) / "img0.jpg"
    before = stored.read_bytes()
    response = client.post(f"{partial}/upload/", headers=headers, data={
        "images": [(io.BytesIO(b"not an image"), "img0.jpg")]})
    assert response.status_code == 400 and "img0.jpg" in response.json["images"][0]
    assert stored.read_bytes() == before


@pytest.mark.parametrize("who, status", [("viewer", 404), ("stranger", 404), (None, 403)])
def test_upload_and_commit_need_change_permission(client, users, partial, who, status):
    headers = auth(users[who]) if who else {}
    assert client.post(f"{partial}/upload/", headers=headers, data={"images": image_files(1)}).status_code == status
    assert client.post(f"{partial}/commit/", headers=headers).status_code == status


def test_upload_with_no_file_is_400(client, users, partial):
    response = client.post(f"{partial}/upload/", headers=auth(users["owner"]), data={})
    assert response.status_code == 400 and "images" in response.json


def test_upload_state_lists_complete_files_and_the_chunks_of_unfinished_ones(client, users, partial):
    headers = auth(users["owner"])
    assert client.get(f"{partial}/upload/", headers=headers).json == {"uploaded": {}, "in_progress": {}}
    whole = client.post(f"{partial}/upload/", headers=headers, data={"images": image_files(1, "w")}).json
    photo = jpeg_bytes(size=(300, 200))
    size = len(photo) // 4 + 1  # four chunks
    send_in_chunks(client, partial, headers, photo, "half.jpg", "half-2", size, order=[0, 2, 0])
    send_in_chunks(client, partial, headers, photo, "last.jpg", "last-1", size, order=[3])
    send_in_chunks(client, partial, headers, photo, "done.jpg", "done-1", size, order=[3, 1, 0, 2])

    state = client.get(f"{partial}/upload", headers=headers)
    assert state.status_code == 200
    assert state.json["uploaded"] == {"w0.jpg": whole["uploaded"]["w0.jpg"], "done.jpg": len(photo)}
    assert state.json["in_progress"] == {
        "half-2": {"filename": "half.jpg", "received_chunks": [0, 2], "total_chunks": 4, "total_size": len(photo),
                   "chunk_size": size},
        "last-1": {"filename": "last.jpg", "received_chunks": [3], "total_chunks": 4, "total_size": len(photo),
                   "chunk_size": None},  # only the short last chunk: the chunk size is not known yet
    }


def test_missing_chunks_named_by_the_upload_state_complete_the_file(client, users, project, partial):
    photo = jpeg_bytes(size=(300, 200))
    size = len(photo) // 5 + 1
    send_in_chunks(client, partial, auth(users["owner"]), photo, "big.jpg", "resume-1", size, order=[1, 3])
    headers = auth(users["editor"])  # another client, knowing nothing of the upload but what the server says
    upload = client.get(f"{partial}/upload/", headers=headers).json["in_progress"]["resume-1"]
    missing = [i for i in range(upload["total_chunks"]) if i not in upload["received_chunks"]]
    assert missing == [0, 2, 4]
    send_in_chunks(client, partial, headers, photo, "big.jpg", "resume-1", upload["chunk_size"], order=missing)
    assert client.get(f"{partial}/upload/", headers=headers).json == {
        "uploaded": {"big.jpg": len(photo)}, "in_progress": {}}
    task_id = int(partial.rsplit("/", 1)[1])
    assert (storage.images_dir(project.id, task_id) / "big.jpg").read_bytes() == photo


def test_upload_state_of_a_committed_task_is_400(client, users, partial):
    headers = auth(users["owner"])
    client.post(f"{partial}/upload/", headers=headers, data={"images": image_files(2)})
    assert client.post(f"{partial}/commit/", headers=headers).status_code == 200
    response = client.get(f"{partial}/upload/", headers=headers)
    assert response.status_code == 400 and "not receiving images" in response.json["detail"]


@pytest.mark.parametrize("who, status", [("editor", 200), ("viewer", 404), ("stranger", 404), (None, 403)])
def test_upload_state_needs_change_permission(client, users, partial, who, status):
    headers = auth(users[who]) if who else {}
    response = client.get(f"{partial}/upload/", headers=headers)
    assert response.status_code == status
    if status == 404:
        assert response.json == {"detail": "Not found."}


def test_upload_state_of_a_task_of_another_project_is_404(client, users, project, partial):
    other = client.post("/api/projects/", headers=auth(users["stranger"]), data={"name": "Theirs"}).json
    task_id = partial.rsplit("/", 1)[1]
    response = client.get(f"/api/projects/{other['id']}/tasks/{task_id}/upload/", headers=auth(users["stranger"]))
    assert response.status_code == 404 and response.json == {"detail": "Not found."}


def test_an_abandoned_resend_of_a_stored_file_does_not_block_the_commit(client, users, partial):
    headers = auth(users["owner"])
    photo = jpeg_bytes()
    send_in_chunks(client, partial, headers, photo, "a.jpg", "first-try", 400)
    client.post(f"{partial}/upload/", headers=headers, data={"images": image_files(1, prefix="b")})
    client.post(f"{partial}/upload/", headers=headers,  # a second browser began sending a.jpg again, then left
                data=chunk_form(photo[:400], "a.jpg", "second-try", 0, 2, 0, len(photo)))
    response = client.post(f"{partial}/commit/", headers=headers)
    assert response.status_code == 200, response.json
    assert response.json["images_count"] == 2 and response.json["partial"] is False
    task = db.session.get(Task, response.json["id"])
    assert (storage.images_dir(task.project_id, task.id) / "a.jpg").read_bytes() == photo
