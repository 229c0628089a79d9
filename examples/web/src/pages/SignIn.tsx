import { useApolloClient, useMutation } from "@apollo/client/react";
import { LoginMutation } from "../documents";
import { Field, Form } from "../form";
import { Link, navigate } from "../router";

export function SignIn() {
  const client = useApolloClient();
  const [login] = useMutation(LoginMutation);
  const action = async ({ email, password }: Record<string, string>) => {
    await login({ variables: { input: { email, password } } });
    // The server set the cookie; whatever was cached belonged to whoever was signed in before.
    await client.clearStore();
    navigate("/");
    return "Signed in.";
  };
  return (
    <>
      <h1>Sign in</h1>
      <Form action={action} submit="Sign in">
        <Field label="Email" name="email" type="email" />
        <Field label="Password" name="password" type="password" />
      </Form>
      <p>
        <Link to="/forgot-password">Forgot your password?</Link>
      </p>
    </>
  );
}
