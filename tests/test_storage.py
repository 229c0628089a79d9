"""Both storage backends against the real thing: a temporary directory, and moto's S3 server."""

import hashlib
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from lunchtogether.config import SettingsError, load_settings
from lunchtogether.core.exceptions import InvalidInputError, NotFoundError
from lunchtogether.core.storage import (
    S3_MIN_PART_SIZE,
    LocalStorage,
    S3Storage,
    avatar_key,
    build_storage,
    read_limited,
)

MIB = 1024 * 1024
BUCKET = "avatars-test"


class DroppedConnectionError(Exception):
    """The upload failing halfway, as a dropped client connection would."""


async def stream(data: bytes, chunk_size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), chunk_size):
        yield data[start : start + chunk_size]


async def failing(good_bytes: int, chunk_size: int = MIB) -> AsyncIterator[bytes]:
    for _ in range(good_bytes // chunk_size):
        yield os.urandom(chunk_size)
    raise DroppedConnectionError


async def read_all(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in chunks])


def files_under(directory: Path) -> list[Path]:
    return sorted(path for path in directory.rglob("*") if not path.is_dir())


# Local ------------------------------------------------------------------------------------------


@pytest.fixture
def local(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "uploads")


async def test_local_round_trip(local: LocalStorage) -> None:
    key = avatar_key("png")
    data = os.urandom(300_000)

    await local.save(key, stream(data), content_type="image/png")

    assert await read_all(await local.open(key)) == data
    assert files_under(local.root) == [local.root / key]
    await local.delete(key)
    assert files_under(local.root) == []
    with pytest.raises(NotFoundError):
        await local.open(key)


async def test_local_save_replaces_existing_file(local: LocalStorage) -> None:
    key = avatar_key("gif")
    await local.save(key, stream(b"old"), content_type="image/gif")
    await local.save(key, stream(b"new"), content_type="image/gif")
    assert await read_all(await local.open(key)) == b"new"


async def test_local_failed_upload_leaves_nothing(local: LocalStorage) -> None:
    key = avatar_key("webp")
    with pytest.raises(DroppedConnectionError):
        await local.save(key, failing(3 * MIB), content_type="image/webp")
    assert files_under(local.root) == []


async def test_local_failed_upload_keeps_the_previous_file(local: LocalStorage) -> None:
    key = avatar_key("png")
    await local.save(key, stream(b"previous"), content_type="image/png")
    with pytest.raises(DroppedConnectionError):
        await local.save(key, failing(2 * MIB), content_type="image/png")
    assert await read_all(await local.open(key)) == b"previous"
    assert files_under(local.root) == [local.root / key]


async def test_local_oversized_upload_is_refused_and_leaves_nothing(local: LocalStorage) -> None:
    with pytest.raises(InvalidInputError) as caught:
        await local.save(avatar_key("jpg"), read_limited(stream(os.urandom(3 * MIB)), MIB), content_type="image/jpeg")
    assert caught.value.fields == {"file": f"must be at most {MIB} bytes"}
    assert files_under(local.root) == []


@pytest.mark.parametrize(
    "key",
    ["../x", "../../etc/passwd", "/etc/passwd", "a/../../b", "a\\b", "..\\x", "a\x00b", "", "a//b", ".hidden", "a/"],
)
async def test_local_refuses_keys_outside_generated_shape(tmp_path: Path, key: str) -> None:
    root = tmp_path / "uploads"
    local = LocalStorage(root)
    with pytest.raises(ValueError, match="invalid storage key"):
        await local.save(key, stream(b"x"), content_type="image/png")
    with pytest.raises(ValueError, match="invalid storage key"):
        await local.open(key)
    with pytest.raises(ValueError, match="invalid storage key"):
        await local.delete(key)
    with pytest.raises(ValueError, match="invalid storage key"):
        local.url(key)
    assert files_under(tmp_path) == []


async def test_local_refuses_a_symlink_out_of_the_root(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "uploads"
    root.mkdir()
    (root / "avatars").symlink_to(outside, target_is_directory=True)
    local = LocalStorage(root)

    with pytest.raises(ValueError, match="invalid storage key"):
        await local.save(avatar_key("png"), stream(b"x"), content_type="image/png")
    assert list(outside.iterdir()) == []


async def test_local_delete_of_a_missing_key_is_fine(local: LocalStorage) -> None:
    await local.delete(avatar_key("png"))
    await local.delete(avatar_key("png"))


async def test_local_url(tmp_path: Path) -> None:
    key = "avatars/0123abcd.png"
    assert LocalStorage(tmp_path).url(key) == "/media/avatars/0123abcd.png"
    assert (
        LocalStorage(tmp_path, "https://api.example.com/").url(key)
        == "https://api.example.com/media/avatars/0123abcd.png"
    )


async def test_local_stream_released_when_closed_early(local: LocalStorage) -> None:
    key = avatar_key("png")
    await local.save(key, stream(os.urandom(MIB)), content_type="image/png")
    async with await local.open(key) as chunks:
        first = await anext(chunks)
    assert first
    assert [chunk async for chunk in chunks] == []


# S3 -------------------------------------------------------------------------------------------


def moto_storage(endpoint: str, bucket: str = BUCKET) -> S3Storage:
    return S3Storage(bucket=bucket, endpoint_url=endpoint, access_key="testing", secret_key="testing")


@pytest.fixture(scope="session")
async def s3(moto_endpoint: str) -> AsyncIterator[S3Storage]:
    storage = moto_storage(moto_endpoint)
    client = await storage.client()
    await client.create_bucket(Bucket=BUCKET)
    yield storage
    await storage.close()


async def objects(s3: S3Storage) -> list[str]:
    client = await s3.client()
    response = await client.list_objects_v2(Bucket=BUCKET)
    return [item["Key"] for item in response.get("Contents", [])]


async def test_s3_round_trip(s3: S3Storage) -> None:
    key = avatar_key("png")
    data = os.urandom(200_000)

    await s3.save(key, stream(data), content_type="image/png")

    assert await read_all(await s3.open(key)) == data
    head = await (await s3.client()).head_object(Bucket=BUCKET, Key=key)
    assert head["ContentType"] == "image/png"
    await s3.delete(key)
    assert key not in await objects(s3)
    with pytest.raises(NotFoundError):
        await s3.open(key)


async def test_s3_empty_file(s3: S3Storage) -> None:
    key = avatar_key("gif")
    await s3.save(key, stream(b""), content_type="image/gif")
    assert await read_all(await s3.open(key)) == b""
    await s3.delete(key)


async def test_s3_multipart_round_trip(s3: S3Storage) -> None:
    key = avatar_key("webp")
    data = os.urandom(12 * MIB)

    await s3.save(key, stream(data, MIB), content_type="image/webp")

    head = await (await s3.client()).head_object(Bucket=BUCKET, Key=key)
    assert re.fullmatch(r'"[0-9a-f]{32}-3"', head["ETag"]), "5 + 5 + 2 MiB: three parts"
    assert head["ContentType"] == "image/webp"
    read = hashlib.sha256()
    async for chunk in await s3.open(key):
        read.update(chunk)
    assert read.digest() == hashlib.sha256(data).digest()
    await s3.delete(key)


async def test_s3_failed_multipart_upload_is_aborted(s3: S3Storage) -> None:
    key = avatar_key("png")
    with pytest.raises(DroppedConnectionError):
        await s3.save(key, failing(S3_MIN_PART_SIZE + 2 * MIB), content_type="image/png")

    client = await s3.client()
    assert (await client.list_multipart_uploads(Bucket=BUCKET)).get("Uploads", []) == []
    assert key not in await objects(s3)


async def test_s3_failed_small_upload_leaves_nothing(s3: S3Storage) -> None:
    key = avatar_key("png")
    with pytest.raises(DroppedConnectionError):
        await s3.save(key, failing(2 * MIB), content_type="image/png")
    assert key not in await objects(s3)


async def test_s3_delete_of_a_missing_key_is_fine(s3: S3Storage) -> None:
    await s3.delete(avatar_key("png"))


async def test_s3_refuses_traversal_keys(s3: S3Storage) -> None:
    with pytest.raises(ValueError, match="invalid storage key"):
        await s3.save("../x", stream(b"x"), content_type="image/png")


async def test_s3_client_is_made_once_and_remade_after_close(moto_endpoint: str) -> None:
    storage = moto_storage(moto_endpoint)
    first = await storage.client()
    assert await storage.client() is first
    await storage.close()
    second = await storage.client()
    assert second is not first
    await second.list_objects_v2(Bucket=BUCKET)
    await storage.close()


async def test_s3_errors_other_than_missing_propagate(moto_endpoint: str) -> None:
    storage = moto_storage(moto_endpoint, "no-such-bucket")
    try:
        with pytest.raises(ClientError):
            await storage.open(avatar_key("png"))
    finally:
        await storage.close()


def test_s3_url() -> None:
    key = "avatars/0123abcd.png"
    assert S3Storage(bucket="b", endpoint_url="http://minio:9000/").url(key) == "http://minio:9000/b/" + key
    cdn = S3Storage(bucket="b", public_url_base="https://cdn.example.com/")
    assert cdn.url(key) == "https://cdn.example.com/" + key
    assert S3Storage(bucket="b", region="eu-west-3").url(key) == "https://b.s3.eu-west-3.amazonaws.com/" + key


async def test_moto_is_real_s3_to_aiobotocore(moto_endpoint: str) -> None:
    """A plain client sees what the storage wrote: the tests do not only agree with themselves."""
    async with get_session().create_client(
        "s3",
        region_name="us-east-1",
        endpoint_url=moto_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ) as client:
        storage = moto_storage(moto_endpoint)
        key = avatar_key("jpg")
        await storage.save(key, stream(b"jpeg bytes"), content_type="image/jpeg")
        response = await client.get_object(Bucket=BUCKET, Key=key)
        async with response["Body"] as body:
            assert await body.read() == b"jpeg bytes"
        await storage.delete(key)
        await storage.close()


# read_limited, keys, settings -----------------------------------------------------------------


async def test_read_limited_stops_an_endless_stream_after_one_chunk_too_many() -> None:
    produced = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal produced
        while True:
            produced += 1
            yield b"x" * MIB

    passed = 0

    async def upload() -> None:
        nonlocal passed
        async for chunk in read_limited(endless(), 10 * MIB):
            passed += len(chunk)

    with pytest.raises(InvalidInputError) as caught:
        await upload()
    assert caught.value.fields == {"file": f"must be at most {10 * MIB} bytes"}
    assert caught.value.code == "BAD_USER_INPUT"
    assert (produced, passed) == (11, 10 * MIB)


async def test_read_limited_passes_a_file_of_exactly_the_limit() -> None:
    data = os.urandom(1000)
    assert await read_all(read_limited(stream(data, 100), 1000)) == data


def test_avatar_key() -> None:
    assert re.fullmatch(r"avatars/[0-9a-f]{32}\.png", avatar_key("png"))
    assert avatar_key("JPEG").endswith(".jpg")
    assert avatar_key(".webp").endswith(".webp")
    assert avatar_key("gif") != avatar_key("gif")
    with pytest.raises(ValueError, match="not an avatar extension"):
        avatar_key("svg")


def test_build_storage(tmp_path: Path) -> None:
    local = build_storage(load_settings(_env_file=None, upload_dir=str(tmp_path), public_base_url=""))
    assert isinstance(local, LocalStorage)
    assert local.root == tmp_path.resolve()
    assert local.url("avatars/a.png") == "/media/avatars/a.png"

    s3 = build_storage(
        load_settings(
            _env_file=None,
            storage_backend="s3",
            s3_bucket="media",
            s3_endpoint_url="http://minio:9000",
            s3_access_key_id="key",
            s3_secret_access_key="secret",
            s3_public_url="",
        )
    )
    assert isinstance(s3, S3Storage)
    assert s3.url("avatars/a.png") == "http://minio:9000/media/avatars/a.png"


def test_s3_backend_needs_a_bucket() -> None:
    with pytest.raises(SettingsError, match=r"^S3_BUCKET must be set when STORAGE_BACKEND is s3$"):
        load_settings(_env_file=None, storage_backend="s3", s3_bucket="  ")
