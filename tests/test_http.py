"""GraphQL over HTTP on the wire: media types, status codes, refused requests, CORS."""

import json

import pytest

GRAPHQL_RESPONSE = "application/graphql-response+json"


async def test_answers_the_new_media_type_when_accepted(client):
    response = await client.post("/graphql", json={"query": "{ me { id } }"}, headers={"Accept": GRAPHQL_RESPONSE})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert response.json() == {"data": {"me": None}}


async def test_answers_json_by_default(client):
    response = await client.post("/graphql", json={"query": "{ me { id } }"})

    assert response.headers["content-type"].startswith("application/json")


async def test_a_validation_error_is_400_under_the_new_media_type_and_200_under_json(client):
    body = {"query": "{ nope }"}

    new = await client.post("/graphql", json=body, headers={"Accept": GRAPHQL_RESPONSE})
    legacy = await client.post("/graphql", json=body, headers={"Accept": "application/json"})

    assert new.status_code == 400
    assert legacy.status_code == 200
    for response in (new, legacy):
        assert "data" not in response.json()
        assert "Cannot query field 'nope'" in response.json()["errors"][0]["message"]


async def test_a_wrongly_typed_variable_is_a_request_error(client):
    query = "query ($first: Int) { users(first: $first) { totalCount } }"
    body = {"query": query, "variables": {"first": "ten"}}

    response = await client.post("/graphql", json=body, headers={"Accept": GRAPHQL_RESPONSE})

    assert response.status_code == 400
    assert "data" not in response.json()


async def test_queries_work_over_get(client):
    response = await client.get("/graphql", params={"query": "query Me { me { id } }", "operationName": "Me"})

    assert response.status_code == 200
    assert response.json() == {"data": {"me": None}}


async def test_mutations_over_get_are_refused_with_405(client):
    response = await client.get("/graphql", params={"query": "mutation { logout }"})

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
async def test_simple_content_types_without_a_preflight_header_are_refused(client, content_type):
    body = json.dumps({"query": "mutation { logout }"})

    response = await client.post("/graphql", content=body, headers={"Content-Type": content_type})

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}


@pytest.mark.parametrize("header", ["Apollo-Require-Preflight", "X-Apollo-Operation-Name"])
async def test_a_preflight_header_lets_the_csrf_check_pass(client, header):
    body = json.dumps({"query": "{ me { id } }"})

    response = await client.post("/graphql", content=body, headers={"Content-Type": "text/plain", header: "true"})

    assert response.status_code == 415  # passes CSRF; text/plain is still not GraphQL's media type


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"null",
        b'"a string"',
        b"42",
        b"\xff\xfe\xfd",
        b"[" * 20_000 + b"]" * 20_000,
        b"{}",
        b'{"query": 1}',
        b'{"query": "{ me { id } }", "variables": []}',
        b'{"query": "{ me { id } }", "operationName": 3}',
        b'{"query": "{ me { id } }", "extensions": "x"}',
    ],
)
async def test_malformed_bodies_get_a_400_with_a_graphql_error(client, body):
    response = await client.post("/graphql", content=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_batches_are_refused(client):
    response = await client.post("/graphql", json=[{"query": "{ me { id } }"}])

    assert response.status_code == 400


async def test_bodies_over_the_limit_are_refused_unread(client):
    response = await client.post("/graphql", json={"query": "{ me { id } }", "variables": {"x": "y" * 1_100_000}})

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_unknown_content_types_and_accepts_are_refused(client):
    unsupported = await client.post(
        "/graphql", content=b"{ me { id } }", headers={"Content-Type": "application/graphql"}
    )
    unacceptable = await client.post("/graphql", json={"query": "{ me { id } }"}, headers={"Accept": "text/csv"})

    assert unsupported.status_code == 415
    assert unacceptable.status_code == 406


async def test_unknown_operation_names_are_refused(client):
    response = await client.post("/graphql", json={"query": "query A { me { id } }", "operationName": "B"})

    assert response.status_code == 400


@pytest.mark.parametrize("accept", ["text/html", "text/html,application/xhtml+xml,*/*;q=0.8", "TEXT/HTML"])
async def test_graphiql_is_served_to_browsers_in_development(client, accept):
    response = await client.get("/graphql", headers={"Accept": accept})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_request_ids_are_echoed_or_made(client):
    given = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    forged = await client.get("/health", headers={"X-Request-ID": "bad id\nwith newline"})

    assert given.headers["x-request-id"] == "abc-123"
    assert forged.headers["x-request-id"] not in {"", "bad id\nwith newline"}


async def test_cors_answers_configured_origins_with_credentials_only(client):
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}

    allowed = await client.options("/graphql", headers={"Origin": "http://localhost:5173", **preflight})
    refused = await client.options("/graphql", headers={"Origin": "http://evil.example", **preflight})
    simple = await client.post("/graphql", json={"query": "{ me { id } }"}, headers={"Origin": "http://evil.example"})

    assert allowed.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "access-control-allow-origin" not in refused.headers
    assert "access-control-allow-origin" not in simple.headers


async def test_cors_lets_apollo_client_name_itself(client):
    """Apollo Client's `clientAwareness` adds two headers that a preflight must allow."""
    preflight = {
        "Origin": "http://localhost:5173",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,apollographql-client-name,apollographql-client-version",
    }

    answer = await client.options("/graphql", headers=preflight)

    assert answer.status_code == 200
    allowed = {name.strip().lower() for name in answer.headers["access-control-allow-headers"].split(",")}
    assert {"apollographql-client-name", "apollographql-client-version"} <= allowed


async def test_health_is_ok_and_ready_checks_the_database(client):
    health = await client.get("/health")
    ready = await client.get("/health/ready")

    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize("path", ["/health", "/graphql?query={me{id}}", "/nowhere"])
async def test_every_response_carries_the_security_headers(client, path):
    response = await client.get(path)

    assert response.headers["x-content-type-options"] == "nosniff"


async def test_the_header_limit_refuses_with_the_same_body_as_the_endpoint(client):
    too_large = await client.get("/health", headers={"Cookie": "; ".join(f"c{n}=v" for n in range(20_000))})
    unacceptable = await client.post("/graphql", json={"query": "{ me { id } }"}, headers={"Accept": "text/csv"})

    assert (too_large.status_code, unacceptable.status_code) == (431, 406)
    for response in (too_large, unacceptable):
        assert response.headers["content-type"] == "application/json"
        [error] = response.json()["errors"]
        assert error == {"message": error["message"], "extensions": {"code": "BAD_REQUEST"}}
        assert response.json() == {"errors": [error]}
    assert "headers are larger than" in too_large.json()["errors"][0]["message"]
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"


async def test_a_lone_surrogate_in_the_operation_name_is_a_json_400(client):
    body = b'{"query": "{ me { id } }", "operationName": "\\ud800"}'

    response = await client.post("/graphql", content=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert response.headers["x-request-id"]


async def test_several_operations_need_an_operation_name(client):
    query = "query A { me { id } } query B { me { email } }"

    unnamed = await client.post("/graphql", json={"query": query}, headers={"Accept": GRAPHQL_RESPONSE})
    named = await client.post("/graphql", json={"query": query, "operationName": "B"})

    assert unnamed.status_code == 400
    assert "Must provide operation name" in unnamed.json()["errors"][0]["message"]
    assert named.json() == {"data": {"me": None}}


async def test_oversized_headers_are_refused_before_parsing(client):
    response = await client.get("/health", headers={"Cookie": "; ".join(f"c{n}=v" for n in range(20_000))})

    assert response.status_code == 431
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert response.headers["x-request-id"]
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_invalid_variables_are_not_quoted_back(client):
    query = "mutation ($i: LoginInput!) { login(input: $i) { accessToken } }"
    variables = {"i": {"email": "ann@example.com", "password": "SECRET-MARKER; x", "extra": 1}}

    response = await client.post("/graphql", json={"query": query, "variables": variables})

    message = response.json()["errors"][0]["message"]
    assert "SECRET-MARKER" not in response.text
    assert message == (
        "Variable '$i' has invalid value: Expected value of type 'LoginInput' not to include unknown field 'extra', "
        "found: (not shown)."
    )


async def test_an_invalid_scalar_in_a_variable_is_not_quoted_back(client):
    query = "mutation ($i: LoginInput!) { login(input: $i) { accessToken } }"
    variables = {"i": {"email": "ann@example.com", "password": {"SECRET-MARKER": None}}}

    response = await client.post("/graphql", json={"query": query, "variables": variables})

    assert "SECRET-MARKER" not in response.text
    assert response.json()["errors"][0]["message"] == (
        "Variable '$i' has invalid value at .password: String cannot represent a non string value: (not shown)."
    )


async def test_queries_longer_than_the_limit_are_refused(client):
    response = await client.post("/graphql", json={"query": "{ me { id } }" + "#" * 100_000})

    assert response.status_code == 400
    assert "longer than" in response.json()["errors"][0]["message"]


ALLOWED_ORIGIN = "http://localhost:5173"
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
]
CREDENTIALS = [(b"access-control-allow-credentials", b"true"), (b"access-control-expose-headers", b"X-Request-ID")]
PREFLIGHT_ANSWER = [
    (
        b"vary",
        b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers, "
        b"Access-Control-Request-Private-Network",
    ),
    (b"access-control-allow-methods", b"GET, POST"),
    (b"access-control-max-age", b"600"),
    (
        b"access-control-allow-headers",
        b"Accept, Accept-Language, Authorization, Content-Language, Content-Type, X-Request-ID, "
        b"apollo-require-preflight, apollographql-client-name, apollographql-client-version, x-apollo-operation-name",
    ),
    (b"access-control-allow-credentials", b"true"),
]
ME_ANSWER = [(b"content-length", b"20"), (b"content-type", b"application/json")]


@pytest.mark.parametrize(
    ("method", "headers", "expected"),
    [
        ("POST", {}, [*ME_ANSWER, (b"vary", b"Origin")]),
        (
            "POST",
            {"Origin": ALLOWED_ORIGIN},
            [
                *ME_ANSWER,
                *CREDENTIALS,
                (b"access-control-allow-origin", b"http://localhost:5173"),
                (b"vary", b"Origin"),
            ],
        ),
        ("POST", {"Origin": "http://evil.example"}, [*ME_ANSWER, *CREDENTIALS, (b"vary", b"Origin")]),
        (
            "OPTIONS",
            {"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST"},
            [
                *PREFLIGHT_ANSWER,
                (b"access-control-allow-origin", b"http://localhost:5173"),
                (b"content-length", b"2"),
                (b"content-type", b"text/plain; charset=utf-8"),
            ],
        ),
    ],
)
async def test_response_headers_come_in_one_order(client, method, headers, expected):
    """CORS's, then the security headers, then the request id: as when each was a middleware of its own."""
    response = await client.request(
        method, "/graphql", json={"query": "{ me { id } }"}, headers={"X-Request-ID": "r-1", **headers}
    )

    assert response.headers.raw == [*expected, *SECURITY_HEADERS, (b"x-request-id", b"r-1")]
