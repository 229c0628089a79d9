import { useMutation } from "@apollo/client/react";
import { RequestPasswordResetMutation } from "../documents";
import { Field, Form } from "../form";

export function ForgotPassword() {
  const [requestReset] = useMutation(RequestPasswordResetMutation);
  const action = async ({ email }: Record<string, string>) => {
    await requestReset({ variables: { email } });
    // The server answers the same for every address, so that nobody learns which ones have accounts.
    return `If ${email} has an account, a link to set a new password is on its way.`;
  };
  return (
    <>
      <h1>Forgot your password?</h1>
      <Form action={action} submit="Send me a link">
        <Field label="Email" name="email" type="email" />
      </Form>
    </>
  );
}
