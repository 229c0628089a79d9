import { useApolloClient, useMutation } from "@apollo/client/react";
import { ResetPasswordMutation } from "../documents";
import { Field, Form } from "../form";
import { Link } from "../router";

/** Opened by the link in the reset mail: `/reset-password?token=...`. */
export function ResetPassword({ token }: { token: string }) {
  const client = useApolloClient();
  const [resetPassword] = useMutation(ResetPasswordMutation);
  const action = async ({ newPassword }: Record<string, string>) => {
    await resetPassword({ variables: { input: { token, newPassword } } });
    await client.clearStore(); // the reset ended every session, this browser's too
    return (
      <>
        Your new password is set and every session was signed out. <Link to="/sign-in">Sign in</Link> with it.
      </>
    );
  };
  return (
    <>
      <h1>Set a new password</h1>
      <Form action={action} submit="Set the new password">
        <Field label="New password" name="newPassword" type="password" />
      </Form>
    </>
  );
}
