import { useMutation } from "@apollo/client/react";
import { RegisterMutation } from "../documents";
import { Field, Form } from "../form";

export function SignUp() {
  const [register] = useMutation(RegisterMutation);
  const action = async ({ fullName, email, password }: Record<string, string>) => {
    const { data } = await register({ variables: { input: { fullName, email, password } } });
    return `Welcome! We sent a link to ${data?.register.user.email}: open it to verify your address, then sign in.`;
  };
  return (
    <>
      <h1>Sign up</h1>
      <Form action={action} submit="Sign up">
        <Field label="Full name" name="fullName" />
        <Field label="Email" name="email" type="email" />
        <Field label="Password" name="password" type="password" />
      </Form>
    </>
  );
}
