"""Documents the server refuses before executing: each with graphql-core's own error, located in its own text."""

import logging

GRAPHQL_RESPONSE = "application/graphql-response+json"


async def test_an_error_is_located_in_the_text_sent_even_when_another_text_has_the_same_tokens(api):
    one_line = await api("{ me { id nope } }")
    three_lines = await api("{\nme {\nid nope } }")

    assert one_line["errors"][0]["locations"] == [{"line": 1, "column": 11}]
    assert three_lines["errors"][0]["locations"] == [{"line": 3, "column": 4}]
    assert three_lines["errors"][0]["message"] == one_line["errors"][0]["message"]


async def test_an_unknown_fragment_is_a_validation_error_not_a_fault(client, caplog):
    query = {"query": "{ me { ...Missing } }"}

    with caplog.at_level(logging.ERROR):
        as_json = await client.post("/graphql", json=query)
        as_graphql_response = await client.post("/graphql", json=query, headers={"Accept": GRAPHQL_RESPONSE})

    assert as_json.status_code == 200
    assert as_graphql_response.status_code == 400
    for response in (as_json, as_graphql_response):
        assert response.json() == {
            "errors": [{"message": "Unknown fragment 'Missing'.", "locations": [{"line": 1, "column": 11}]}]
        }
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []  # nothing for Sentry


async def test_limits_are_still_checked_on_documents_with_fragments(make_app):
    api = make_app(graphql_max_depth=2)

    result = await api("{ ...Deep } fragment Deep on Query { users { edges { node { id } } } }")

    assert "exceeds maximum operation depth of 2" in result["errors"][0]["message"]
    assert "data" not in result


async def test_a_subscription_is_refused_as_unsupported(client):
    query = "subscription { me { id } }"

    posted = await client.post("/graphql", json={"query": query})
    sent_with_get = await client.get("/graphql", params={"query": query})

    for response in (posted, sent_with_get):
        assert response.status_code == 400
        assert response.json() == {
            "errors": [
                {
                    "message": "Subscriptions are not supported: this server answers queries and mutations over HTTP.",
                    "extensions": {"code": "BAD_REQUEST"},
                }
            ]
        }
