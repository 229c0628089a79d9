import { useApolloClient, useMutation, useQuery } from "@apollo/client/react";
import { type FormEvent, useState } from "react";
import { mediaUrl, UPLOAD_CONTEXT } from "../apollo";
import { LogoutMutation, MeQuery, RequestEmailVerificationMutation, UploadAvatarMutation } from "../documents";
import { errorMessage } from "../errors";
import { Link, navigate } from "../router";

export function Me() {
  // Asked of the server on every visit: a session may have ended elsewhere (a reset, "sign out everywhere").
  const { data, loading, error } = useQuery(MeQuery, { fetchPolicy: "network-only" });
  if (loading) return <p>Loading…</p>;
  if (error) return <p role="alert">{errorMessage(error)}</p>;
  const me = data?.me;
  if (!me) {
    return (
      <>
        <h1>You are signed out</h1>
        <p>
          <Link to="/sign-in">Sign in</Link> or <Link to="/sign-up">sign up</Link>.
        </p>
      </>
    );
  }
  return (
    <>
      <h1>{me.fullName}</h1>
      <p>
        {me.email} — {me.isVerified ? "verified" : <Unverified />}
      </p>
      {me.avatarUrl && <img src={mediaUrl(me.avatarUrl)} alt="Your avatar" width={128} height={128} />}
      <AvatarForm />
      <SignOut />
    </>
  );
}

function Unverified() {
  const [requestLink, { data, error, loading }] = useMutation(RequestEmailVerificationMutation);
  return (
    <>
      not verified yet.{" "}
      <button type="button" onClick={() => requestLink().catch(() => {})} disabled={loading}>
        Send me a new link
      </button>
      {data && <span role="status"> A new link is on its way.</span>}
      {error && <span role="alert"> {errorMessage(error)}</span>}
    </>
  );
}

function AvatarForm() {
  // The answer carries the user's id and new avatarUrl, so the cache updates the `me` shown above.
  const [upload, { loading }] = useMutation(UploadAvatarMutation, { context: UPLOAD_CONTEXT });
  const [error, setError] = useState<string | null>(null);
  const onSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const file = new FormData(event.currentTarget).get("avatar");
    if (!(file instanceof File) || file.size === 0) return setError("Choose an image first.");
    try {
      await upload({ variables: { file } });
      setError(null);
    } catch (failure) {
      setError(errorMessage(failure));
    }
  };
  return (
    <form onSubmit={onSubmit}>
      <label>
        Avatar
        <input name="avatar" type="file" accept="image/png,image/jpeg,image/webp,image/gif" />
      </label>
      <button type="submit" disabled={loading}>
        Upload
      </button>
      {error && <p role="alert">{error}</p>}
    </form>
  );
}

function SignOut() {
  const client = useApolloClient();
  const [logout, { error }] = useMutation(LogoutMutation);
  const signOut = async () => {
    await logout({ variables: { everywhere: false } });
    await client.clearStore();
    navigate("/sign-in");
  };
  return (
    <>
      <button type="button" onClick={() => signOut().catch(() => {})}>
        Sign out
      </button>
      {error && <p role="alert">{errorMessage(error)}</p>}
    </>
  );
}
