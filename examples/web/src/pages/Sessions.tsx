import { useApolloClient, useMutation, useQuery } from "@apollo/client/react";
import { LogoutMutation, RevokeSessionMutation, SessionsQuery } from "../documents";
import { errorMessage } from "../errors";
import { navigate } from "../router";

export function Sessions() {
  const client = useApolloClient();
  const { data, error, refetch } = useQuery(SessionsQuery, { fetchPolicy: "network-only" });
  const [revoke] = useMutation(RevokeSessionMutation);
  const [logout] = useMutation(LogoutMutation);
  if (error) return <p role="alert">{errorMessage(error)}</p>;
  if (!data) return <p>Loading…</p>;

  const signOutEverywhere = async () => {
    await logout({ variables: { everywhere: true } });
    await client.clearStore();
    navigate("/");
  };
  return (
    <>
      <h1>Sessions</h1>
      <ul aria-label="Sessions">
        {data.sessions.map((session) => (
          <li key={session.id}>
            {session.userAgent ?? "unknown browser"}, signed in {new Date(session.createdAt).toLocaleString()}, last
            used {new Date(session.lastUsedAt).toLocaleString()}{" "}
            {session.current ? (
              <strong>(this browser)</strong>
            ) : (
              <button type="button" onClick={() => revoke({ variables: { id: session.id } }).then(() => refetch())}>
                Sign it out
              </button>
            )}
          </li>
        ))}
      </ul>
      <button type="button" onClick={signOutEverywhere}>
        Sign out everywhere
      </button>
    </>
  );
}
