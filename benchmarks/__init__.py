"""HTTP benchmark of the GraphQL server against a bare Starlette + asyncpg baseline; see README.md."""
