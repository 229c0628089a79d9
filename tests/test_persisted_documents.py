"""Persisted documents through the app: automatic persisted queries (as Apollo's and urql's links
send them) and trusted documents (graphql-codegen's and Apollo's manifests), TRUSTED_DOCUMENTS_ONLY."""

import hashlib
import json
import logging
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from lunchtogether.graphql.trusted_documents import TrustedDocumentsError
from lunchtogether.main import create_app
from tests.support import LOGIN, ME, PREFLIGHT, REGISTER, UPLOAD, GraphQL, code, image, make_settings

GRAPHQL_RESPONSE = "application/graphql-response+json"
NOT_FOUND = {"errors": [{"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]}
USERS = "query Users { users(first: 5) { totalCount } }"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def apq(sha256_hash: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256_hash}}


def unique_query() -> str:
    """A query no other test registered: its hash is new to every store."""
    return f"query Me {{ me {{ id }} }} # {uuid.uuid4()}"


async def post(api: GraphQL, body: object, *, accept: str | None = None, token: str | None = None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    headers |= {"Accept": accept} if accept else {}
    headers |= {"Authorization": f"Bearer {token}"} if token else {}
    return await api.client.post("/graphql", content=json.dumps(body), headers=headers)


async def get(api: GraphQL, **params: str | dict[str, Any]) -> httpx.Response:
    """`GET /graphql`, with `variables` and `extensions` as URL-encoded JSON."""
    encoded = {name: value if isinstance(value, str) else json.dumps(value) for name, value in params.items()}
    return await api.client.get("/graphql", params=encoded)


def manifest(tmp_path: Path, content: object, name: str = "persisted-documents.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(content))
    return str(path)


def client_preset(tmp_path: Path, *documents: str) -> str:
    """graphql-codegen's client preset manifest: `sha256:<hex>` ids, as its version 6 writes them."""
    return manifest(tmp_path, {f"sha256:{sha256(document)}": document for document in documents})


async def test_a_query_is_registered_by_hash_then_run_by_hash_alone(api):
    query = unique_query()
    first = await post(api, {"extensions": apq(sha256(query))})
    assert first.status_code == 200
    assert first.json() == NOT_FOUND
    registered = await post(api, {"query": query, "extensions": apq(sha256(query))})
    assert registered.json() == {"data": {"me": None}}
    by_hash = await post(api, {"extensions": apq(sha256(query))})
    assert by_hash.json() == {"data": {"me": None}}


async def test_automatic_persisted_queries_work_over_get(api):
    query = unique_query()
    missing = await get(api, extensions=apq(sha256(query)))
    assert missing.status_code == 200
    assert missing.json() == NOT_FOUND
    assert missing.headers["cache-control"] == "private, no-cache, must-revalidate"
    registered = await get(api, query=query, extensions=apq(sha256(query)))
    assert registered.json() == {"data": {"me": None}}
    by_hash = await get(api, extensions=apq(sha256(query)))
    assert by_hash.json() == {"data": {"me": None}}
    assert "cache-control" not in by_hash.headers


async def test_not_found_is_a_request_error_under_the_new_media_type(api):
    response = await post(api, {"extensions": apq(sha256(unique_query()))}, accept=GRAPHQL_RESPONSE)
    assert response.status_code == 400
    assert response.json() == NOT_FOUND


async def test_a_hash_that_is_not_the_querys_is_refused(api):
    query = unique_query()
    response = await post(api, {"query": query, "extensions": apq(sha256(query + " "))})
    assert response.status_code == 400
    assert code(response.json()) == "BAD_REQUEST"
    assert (await post(api, {"extensions": apq(sha256(query))})).json() == NOT_FOUND


async def test_a_document_that_cannot_run_is_not_registered(api):
    query = "query Nope { nope } # " + str(uuid.uuid4())
    response = await post(api, {"query": query, "extensions": apq(sha256(query))})
    assert response.json()["errors"][0]["message"] == "Cannot query field 'nope' on type 'Query'."
    assert (await post(api, {"extensions": apq(sha256(query))})).json() == NOT_FOUND


@pytest.mark.parametrize("persisted_query", [{"version": 2, "sha256Hash": "ab"}, {"version": 1}, "abc"])
async def test_a_malformed_persisted_query_extension_is_refused(api, persisted_query):
    response = await post(api, {"extensions": {"persistedQuery": persisted_query}})
    assert response.status_code == 400
    assert code(response.json()) == "BAD_REQUEST"


async def test_sha256_prefixed_and_bare_hashes_name_the_same_document(api):
    query = unique_query()
    registered = await post(api, {"query": query, "extensions": apq(f"sha256:{sha256(query)}")})
    assert registered.json() == {"data": {"me": None}}
    for body in ({"extensions": apq(sha256(query))}, {"documentId": f"sha256:{sha256(query)}"}):
        assert (await post(api, body)).json() == {"data": {"me": None}}, body


async def test_trusted_documents_run_by_document_id_or_hash_in_either_spelling(make_app, tmp_path):
    api = make_app(trusted_documents=client_preset(tmp_path, ME))
    for body in (
        {"documentId": f"sha256:{sha256(ME)}"},
        {"documentId": sha256(ME)},
        {"extensions": apq(sha256(ME))},
        {"extensions": apq(f"sha256:{sha256(ME)}")},
    ):
        assert (await post(api, body)).json() == {"data": {"me": None}}, body
    assert (await get(api, documentId=f"sha256:{sha256(ME)}")).json() == {"data": {"me": None}}


async def test_apollos_manifest_is_read_with_its_own_ids(make_app, tmp_path):
    operations = [{"id": "me-1", "name": "Me", "type": "query", "body": ME}]
    path = manifest(tmp_path, {"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations})
    api = make_app(trusted_documents=path)
    assert (await post(api, {"documentId": "me-1"})).json() == {"data": {"me": None}}
    assert (await post(api, {"documentId": "me-2"})).json() == NOT_FOUND


@pytest.mark.parametrize(
    "body",
    [
        {"query": ME, "documentId": f"sha256:{sha256(ME)}"},
        {"documentId": f"sha256:{sha256(ME)}", "extensions": apq(sha256(ME))},
    ],
    ids=["document-and-id", "id-and-hash"],
)
async def test_a_document_named_twice_is_refused(make_app, tmp_path, body):
    api = make_app(trusted_documents=client_preset(tmp_path, ME))
    response = await post(api, body)
    assert response.status_code == 400
    assert code(response.json()) == "BAD_REQUEST"


async def test_trusted_only_refuses_any_other_document_and_runs_trusted_ones(make_app, tmp_path):
    api = make_app(trusted_documents=client_preset(tmp_path, ME), trusted_documents_only=True)
    plain = await post(api, {"query": ME})
    assert plain.status_code == 200
    assert code(plain.json()) == "PERSISTED_QUERY_ONLY"
    assert "data" not in plain.json()
    strict = await post(api, {"query": ME}, accept=GRAPHQL_RESPONSE)
    assert strict.status_code == 400
    assert code(strict.json()) == "PERSISTED_QUERY_ONLY"
    registration = await post(api, {"query": ME, "extensions": apq(sha256(ME))})
    assert code(registration.json()) == "PERSISTED_QUERY_ONLY"
    unparsable = await post(api, {"query": "{ not graphql"})  # refused before parsing: no syntax error
    assert code(unparsable.json()) == "PERSISTED_QUERY_ONLY"
    over_get = await get(api, query=ME)
    assert code(over_get.json()) == "PERSISTED_QUERY_ONLY"
    assert (await post(api, {"documentId": sha256(USERS)})).json() == NOT_FOUND
    assert (await post(api, {"documentId": sha256(ME)})).json() == {"data": {"me": None}}


async def test_trusted_only_never_looks_at_registered_documents(make_app, tmp_path):
    query = unique_query()
    open_app = make_app()
    assert (await post(open_app, {"query": query, "extensions": apq(sha256(query))})).json() == {"data": {"me": None}}
    strict_app = make_app(trusted_documents=client_preset(tmp_path, ME), trusted_documents_only=True)
    assert (await post(strict_app, {"extensions": apq(sha256(query))})).json() == NOT_FOUND


async def test_trusted_only_refuses_a_batch_holding_one_other_document_and_runs_none_of_it(make_app, api, tmp_path):
    strict_app = make_app(
        trusted_documents=client_preset(tmp_path, REGISTER),
        trusted_documents_only=True,
        graphql_batching=True,
    )
    variables = {"input": {"email": "batched@example.com", "password": "correct horse battery", "fullName": "B"}}
    batch = [{"documentId": sha256(REGISTER), "variables": variables}, {"query": ME}]
    response = await post(strict_app, batch)
    assert code(response.json()) == "PERSISTED_QUERY_ONLY"
    assert not await api.can_log_in("batched@example.com")


async def test_a_batch_resolves_each_operation_on_its_own(make_app):
    api = make_app(graphql_batching=True)
    query = unique_query()
    response = await post(api, [{"extensions": apq(sha256(query))}, {"query": ME}])
    assert response.json() == [NOT_FOUND, {"data": {"me": None}}]


async def test_a_mutation_named_by_id_is_refused_over_get(make_app, tmp_path):
    api = make_app(trusted_documents=client_preset(tmp_path, LOGIN), trusted_documents_only=True)
    response = await get(
        api, documentId=sha256(LOGIN), variables={"input": {"email": "a@example.com", "password": "x"}}
    )
    assert response.status_code == 405
    assert code(response.json()) == "BAD_REQUEST"


async def test_an_upload_names_its_document_by_id_where_only_trusted_ones_run(make_app, api, tmp_path):
    _user, token = await api.signed_up("uploader@example.com")
    strict_app = make_app(trusted_documents=client_preset(tmp_path, UPLOAD), trusted_documents_only=True)
    data = {
        "operations": json.dumps({"documentId": f"sha256:{sha256(UPLOAD)}", "variables": {"file": None}}),
        "map": json.dumps({"0": ["variables.file"]}),
    }
    files = {"0": ("avatar.png", image("PNG"), "image/png")}
    headers = PREFLIGHT | {"Authorization": f"Bearer {token}"}
    response = await strict_app.client.post("/graphql", data=data, files=files, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["uploadAvatar"]["avatarUrl"].startswith("/media/")


async def test_the_process_store_drops_the_least_recently_used_past_its_bound(make_app):
    api = make_app(apq_max_entries=2)
    first, second, third = unique_query(), unique_query(), unique_query()
    for query in (first, second, third):
        assert (await post(api, {"query": query, "extensions": apq(sha256(query))})).json() == {"data": {"me": None}}
    assert (await post(api, {"extensions": apq(sha256(first))})).json() == NOT_FOUND
    for query in (second, third):
        assert (await post(api, {"extensions": apq(sha256(query))})).json() == {"data": {"me": None}}


async def test_the_process_store_keeps_no_more_bytes_than_its_bound(make_app):
    api = make_app(apq_max_bytes=1024)
    first, second = (unique_query() + "#" * 500 for _ in range(2))
    for query in (first, second):
        assert (await post(api, {"query": query, "extensions": apq(sha256(query))})).json() == {"data": {"me": None}}
    assert (await post(api, {"extensions": apq(sha256(first))})).json() == NOT_FOUND
    assert (await post(api, {"extensions": apq(sha256(second))})).json() == {"data": {"me": None}}


async def test_registered_queries_are_shared_by_every_process_through_redis(make_app, redis_url):
    first, second = make_app(redis_url=redis_url), make_app(redis_url=redis_url)
    query = unique_query()
    assert (await post(second, {"extensions": apq(sha256(query))})).json() == NOT_FOUND
    assert (await post(first, {"query": query, "extensions": apq(sha256(query))})).json() == {"data": {"me": None}}
    assert (await post(second, {"extensions": apq(sha256(query))})).json() == {"data": {"me": None}}


async def test_a_redis_outage_costs_the_cache_not_the_request(make_app, caplog):
    api = make_app(redis_url="redis://127.0.0.1:1/0")  # nothing listens on port 1
    query = unique_query()
    with caplog.at_level(logging.WARNING, logger="lunchtogether.persisted_queries"):
        registered = await post(api, {"query": query, "extensions": apq(sha256(query))})
        by_hash = await post(api, {"extensions": apq(sha256(query))})
    assert registered.json() == {"data": {"me": None}}
    assert by_hash.status_code == 200
    assert by_hash.json() == NOT_FOUND
    assert [record.getMessage().partition(":")[0] for record in caplog.records] == [
        "Persisted query not stored (the query still runs)",
        "Persisted query lookup failed, answered as not found",
    ]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "is not valid JSON"),
        (json.dumps(["query { me { id } }"]), "is neither graphql-codegen's persisted documents"),
        (json.dumps({"format": "apollo-persisted-query-manifest", "version": 2, "operations": []}), "version 1"),
        (json.dumps({"abc": "query { me { nope } }"}), "the document 'abc' is invalid: Cannot query field 'nope'"),
        (json.dumps({"deep": "query {" + " me {" * 12 + " id" + " }" * 13}), "the document 'deep' is invalid"),
    ],
)
async def test_an_unusable_manifest_refuses_the_app(settings, tmp_path, content, problem):
    path = tmp_path / "manifest.json"
    path.write_text(content)
    with pytest.raises(TrustedDocumentsError, match=re.escape(problem)) as refused:
        create_app(make_settings(settings.sqlalchemy_url, trusted_documents=str(path)))
    assert str(refused.value).startswith(f"TRUSTED_DOCUMENTS {path}: ")
    assert "\n" not in str(refused.value)
