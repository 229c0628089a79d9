import { useQuery } from "@apollo/client/react";
import { mediaUrl } from "../apollo";
import { UsersQuery } from "../documents";
import { errorMessage } from "../errors";

const PAGE_SIZE = 10;

export function Users() {
  // Pages are merged by the cache (relayStylePagination on Query.users), so "Load more" appends.
  const { data, error, loading, fetchMore } = useQuery(UsersQuery, {
    variables: { first: PAGE_SIZE },
    fetchPolicy: "network-only",
  });
  if (error) return <p role="alert">{errorMessage(error)}</p>;
  if (!data) return <p>Loading…</p>;
  const { edges, pageInfo, totalCount } = data.users;
  return (
    <>
      <h1>People</h1>
      <p>
        Showing {edges.length} of {totalCount}
      </p>
      <ul aria-label="People">
        {edges.map(({ node }) => (
          <li key={node.id}>
            {node.avatarUrl && <img src={mediaUrl(node.avatarUrl)} alt="" width={24} height={24} />} {node.fullName}
          </li>
        ))}
      </ul>
      {pageInfo.hasNextPage && (
        <button
          type="button"
          disabled={loading}
          onClick={() => fetchMore({ variables: { after: pageInfo.endCursor } })}
        >
          Load more
        </button>
      )}
    </>
  );
}
