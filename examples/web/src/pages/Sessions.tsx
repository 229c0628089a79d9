import { useApolloClient, useMutation, useQuery } from "@apollo/client/react";
import { useState } from "react";
import { LogoutMutation, RevokeSessionMutation, SessionsQuery } from "../documents";
import { errorMessage } from "../errors";
import { navigate } from "../router";

export function Sessions() {
  const client = useApolloClient();
  const { data, error, refetch } = useQuery(SessionsQuery, { fetchPolicy: "network-only" });
  const [revoke] = useMutation(RevokeSessionMutation);
  const [logout] = useMutation(LogoutMutation);
  const [failure, setFailure] = useState<string | null>(null);
  if (error) return <p role="alert">{errorMessage(error)}</p>;
  if (!data) return <p>Loading…</p>;

  // A click handler that shows what went wrong instead of dropping it.
  const attempt = (action: () => Promise<unknown>) => () =>
    action().catch((reason: unknown) => setFailure(errorMessage(reason)));
  const signOutEverywhere = attempt(async () => {
    await logout({ variables: { everywhere: true } });
    await client.clearStore();
    navigate("/");
  });
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
              <button type="button" onClick={attempt(() => revoke({ variables: { id: session.id } }).then(() => refetch()))}>
                Sign it out
              </button>
            )}
          </li>
        ))}
      </ul>
      <button type="button" onClick={signOutEverywhere}>
        Sign out everywhere
      </button>
      {failure && <p role="alert">{failure}</p>}
    </>
  );
}
