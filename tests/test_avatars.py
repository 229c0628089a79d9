"""uploadAvatar through the GraphQL multipart request spec, as Apollo's and urql's upload links send it."""

import io
import json
import tracemalloc
from pathlib import Path

import httpx
import pytest
from PIL import Image

from lunchtogether.cli import delete_account
from lunchtogether.core.storage import S3Storage
from tests.support import PREFLIGHT, UPLOAD, code, error, image, make_settings, stored_files, upload


class LazyZeros(io.RawIOBase):
    """A file of `size` zero bytes, made as it is read: the test itself holds none of it."""

    def __init__(self, size: int) -> None:
        self.remaining = size

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = self.remaining if size < 0 else min(size, self.remaining)
        self.remaining -= size
        return b"\x00" * size


@pytest.fixture
def upload_root(settings) -> Path:
    return Path(settings.upload_dir)


async def test_a_png_round_trips_re_encoded_and_served(api):
    _, token = await api.signed_up("ann@example.com")

    response = await upload(api, image("PNG", mode="RGBA"), token=token)

    avatar_url = response.json()["data"]["uploadAvatar"]["avatarUrl"]
    assert avatar_url.startswith("/media/avatars/")
    assert avatar_url.endswith(".png")
    served = await api.client.get(avatar_url)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "immutable" in served.headers["cache-control"]
    assert Image.open(io.BytesIO(served.content)).size == (512, 384)
    assert (await api("{ me { avatarUrl } }", token=token))["data"]["me"]["avatarUrl"] == avatar_url


async def test_a_jpeg_loses_its_metadata(api):
    _, token = await api.signed_up("ann@example.com")
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    photo = image("JPEG", size=(300, 200), exif=exif)

    response = await upload(api, photo, token=token, filename="photo.jpg", content_type="image/jpeg")

    avatar_url = response.json()["data"]["uploadAvatar"]["avatarUrl"]
    served = await api.client.get(avatar_url)
    assert served.headers["content-type"] == "image/jpeg"
    assert b"SecretCam" not in served.content
    assert not Image.open(io.BytesIO(served.content)).getexif()


@pytest.mark.parametrize(
    "content",
    [
        b"<html><script>alert(document.cookie)</script></html>",
        b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>",
        b"GIF89a<script>alert(1)</script>",
        b"%PDF-1.7 not an image",
    ],
    ids=["html", "png-magic-then-html", "gif-magic-then-script", "pdf"],
)
async def test_anything_but_an_image_is_refused_whatever_its_name(api, upload_root, content):
    _, token = await api.signed_up("ann@example.com")
    before = stored_files(upload_root)

    response = await upload(api, content, token=token, filename="cute.png")

    assert code(response.json()) == "BAD_USER_INPUT"
    assert error(response.json())["extensions"]["fields"] == {"file": "must be a PNG, JPEG, WebP or GIF image"}
    assert stored_files(upload_root) == before


async def test_a_truncated_image_is_refused(api):
    _, token = await api.signed_up("ann@example.com")

    response = await upload(api, image("PNG", size=(400, 400))[:500], token=token)

    assert error(response.json())["extensions"]["fields"] == {"file": "is not a complete, valid image"}


async def test_a_decompression_bomb_is_refused_before_decoding(api):
    _, token = await api.signed_up("ann@example.com")
    bomb = image("PNG", size=(10_000, 10_000), mode="L")  # ~100 kB on the wire, 100 megapixels

    response = await upload(api, bomb, token=token)

    assert code(response.json()) == "BAD_USER_INPUT"


async def test_the_clients_filename_never_becomes_a_path(api, upload_root):
    _, token = await api.signed_up("ann@example.com")

    response = await upload(api, image("GIF", size=(40, 40)), token=token, filename="../../../../tmp/evil.png")

    avatar_url = response.json()["data"]["uploadAvatar"]["avatarUrl"]
    assert "evil" not in avatar_url
    assert not Path("/tmp/evil.png").exists()
    assert all(path.is_relative_to(upload_root / "avatars") for path in stored_files(upload_root))


async def test_replacing_an_avatar_deletes_the_old_file_and_deleting_the_user_deletes_the_new(api, settings):
    _, token = await api.signed_up("ann@example.com")

    first = (await upload(api, image("PNG"), token=token)).json()["data"]["uploadAvatar"]["avatarUrl"]
    second = (await upload(api, image("WEBP"), token=token)).json()["data"]["uploadAvatar"]["avatarUrl"]

    assert (await api.client.get(first)).status_code == 404
    assert (await api.client.get(second)).status_code == 200
    assert await delete_account(settings, "ann@example.com")
    assert (await api.client.get(second)).status_code == 404


async def test_a_file_over_the_limit_is_refused_while_reading(make_app):
    api = make_app(max_upload_size=100_000)
    _, token = await api.signed_up("ann@example.com")

    response = await upload(api, image("BMP", size=(400, 400)), token=token)  # ~480 kB, under the body limit

    assert error(response.json())["extensions"]["fields"] == {"file": "must be at most 100000 bytes"}


async def test_a_50_mb_stream_is_refused_without_being_held_in_memory(api, upload_root):
    _, token = await api.signed_up("ann@example.com")
    before = stored_files(upload_root)

    tracemalloc.start()
    try:
        response = await upload(api, LazyZeros(50 * 1024 * 1024), token=token)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert peak < 16 * 1024 * 1024, f"peak {peak} bytes"  # the 10 MB + 1 MB bound, and no more
    assert stored_files(upload_root) == before


async def test_uploads_need_sign_in_and_the_preflight_header(api):
    signed_out = await upload(api, image("PNG"), token=None)
    _, token = await api.signed_up("ann@example.com")
    no_preflight = await upload(api, image("PNG"), token=token, headers={})

    assert code(signed_out.json()) == "UNAUTHENTICATED"
    assert no_preflight.status_code == 400
    assert no_preflight.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_a_file_variable_sent_as_json_is_refused(api):
    _, token = await api.signed_up("ann@example.com")

    result = await api(UPLOAD, {"file": "not a file"}, token=token)

    assert error(result)["extensions"] == {
        "code": "BAD_USER_INPUT",
        "fields": {"file": "must be a file sent with the multipart request spec"},
    }


@pytest.mark.parametrize(
    ("fields", "files"),
    [
        ({"operations": "{not json", "map": '{"0": ["variables.file"]}'}, {"0": b"x"}),
        ({"operations": json.dumps({"query": UPLOAD}), "map": "nope"}, {"0": b"x"}),
        ({"operations": json.dumps({"query": UPLOAD}), "map": '{"0": "variables.file"}'}, {"0": b"x"}),
        ({"operations": json.dumps({"query": UPLOAD}), "map": '{"0": ["query"]}'}, {"0": b"x"}),
        ({"operations": json.dumps({"query": UPLOAD}), "map": '{"1": ["variables.file"]}'}, {"0": b"x"}),
        ({"operations": json.dumps({"query": UPLOAD}), "map": '{"0": ["variables.a.b.c"]}'}, {"0": b"x"}),
        ({"map": '{"0": ["variables.file"]}'}, {"0": b"x"}),
        ({"operations": json.dumps({"query": UPLOAD}), "map": '{"0": ["variables.file"]}'}, {"0": b"x", "1": b"y"}),
    ],
    ids=[
        "operations-not-json",
        "map-not-json",
        "map-not-lists",
        "map-outside-variables",
        "map-missing-file",
        "map-bad-path",
        "no-operations",
        "too-many-files",
    ],
)
async def test_malformed_multipart_requests_get_a_400(client, fields, files):
    response = await client.post(
        "/graphql",
        data=fields,
        files={name: ("f.png", body, "image/png") for name, body in files.items()},
        headers=PREFLIGHT,
    )

    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_a_garbage_multipart_body_gets_a_400(client):
    headers = PREFLIGHT | {"Content-Type": "multipart/form-data; boundary=xyz"}

    response = await client.post("/graphql", content=b"--xyz\r\ngarbage\r\n\r\n--nope", headers=headers)

    assert response.status_code == 400


async def test_avatars_on_s3_compatible_storage(make_app, moto_endpoint):
    bucket = "avatars-test"
    api = make_app(
        storage_backend="s3",
        s3_bucket=bucket,
        s3_endpoint_url=moto_endpoint,
        s3_access_key_id="testing",
        s3_secret_access_key="testing",
    )
    creator = S3Storage(bucket=bucket, endpoint_url=moto_endpoint, access_key="testing", secret_key="testing")
    s3 = await creator.client()
    await s3.create_bucket(Bucket=bucket)
    # What a deployment does: avatars are public, the rest of the bucket is not.
    public_avatars = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/avatars/*",
            }
        ],
    }
    await s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(public_avatars))
    _, token = await api.signed_up("ann@example.com")

    first = (await upload(api, image("PNG", mode="RGBA"), token=token)).json()["data"]["uploadAvatar"]["avatarUrl"]
    second = (await upload(api, image("JPEG"), token=token)).json()["data"]["uploadAvatar"]["avatarUrl"]

    assert first.startswith(f"{moto_endpoint}/{bucket}/avatars/")
    async with httpx.AsyncClient() as outside:
        served = await outside.get(second)
        gone = await outside.get(first)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(served.content)).format == "JPEG"
    assert gone.status_code == 404
    assert (await api.client.get("/media/" + second.rsplit("/avatars/", 1)[1])).status_code == 404  # no local route
    await creator.close()


def test_make_settings_keeps_uploads_out_of_the_checkout(settings):
    assert not Path(make_settings(settings.sqlalchemy_url).upload_dir).is_relative_to(Path.cwd())


@pytest.mark.parametrize(
    "path", ["/media/nothing.png", "/media/%2e%2e/%2e%2e/etc/passwd", "/media/..%2f..%2fpyproject.toml"]
)
async def test_media_before_any_upload_is_a_404(make_app, tmp_path, path):
    api = make_app(upload_dir=str(tmp_path / "not-made-yet"))

    response = await api.client.get(path)

    assert response.status_code == 404
    assert response.headers["x-content-type-options"] == "nosniff"
