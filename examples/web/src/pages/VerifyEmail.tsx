import { useMutation } from "@apollo/client/react";
import { useEffect, useRef } from "react";
import { RequestEmailVerificationMutation, VerifyEmailMutation } from "../documents";
import { errorMessage } from "../errors";

/** Opened by the link in the verification mail: `/verify-email?token=...`. */
export function VerifyEmail({ token }: { token: string }) {
  const [verify, verified] = useMutation(VerifyEmailMutation);
  const [requestLink, requested] = useMutation(RequestEmailVerificationMutation);
  const sent = useRef(false);

  useEffect(() => {
    // Once only: the token is single-use, and React's development mode runs effects twice.
    if (sent.current) return;
    sent.current = true;
    verify({ variables: { token } }).catch(() => {}); // the error is shown from `verified.error`
  }, [verify, token]);

  if (verified.data) {
    return (
      <>
        <h1>Email verified</h1>
        <p role="status">{verified.data.verifyEmail.email} is verified. Thank you!</p>
      </>
    );
  }
  if (!verified.error) return <p>Verifying your address…</p>;
  return (
    <>
      <h1>This link does not work</h1>
      <p role="alert">{errorMessage(verified.error)}</p>
      <button type="button" onClick={() => requestLink().catch(() => {})} disabled={requested.loading}>
        Send me a new link
      </button>
      {requested.data && <p role="status">A new link is on its way.</p>}
      {requested.error && <p role="alert">{errorMessage(requested.error)} Sign in to ask for a new link.</p>}
    </>
  );
}
