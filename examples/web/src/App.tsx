import { ForgotPassword } from "./pages/ForgotPassword";
import { Me } from "./pages/Me";
import { ResetPassword } from "./pages/ResetPassword";
import { Sessions } from "./pages/Sessions";
import { SignIn } from "./pages/SignIn";
import { SignUp } from "./pages/SignUp";
import { Users } from "./pages/Users";
import { VerifyEmail } from "./pages/VerifyEmail";
import { Link, useLocation } from "./router";

function Page({ location }: { location: URL }) {
  const token = location.searchParams.get("token") ?? "";
  switch (location.pathname) {
    case "/":
      return <Me />;
    case "/sign-up":
      return <SignUp />;
    case "/sign-in":
      return <SignIn />;
    case "/forgot-password":
      return <ForgotPassword />;
    case "/users":
      return <Users />;
    case "/sessions":
      return <Sessions />;
    // The two pages the server's mails link to ({FRONTEND_URL}/verify-email?token=...).
    case "/verify-email":
      return <VerifyEmail key={token} token={token} />;
    case "/reset-password":
      return <ResetPassword key={token} token={token} />;
    default:
      return <h1>Not found</h1>;
  }
}

export function App() {
  const location = useLocation();
  return (
    <>
      <nav>
        <Link to="/">Me</Link> · <Link to="/users">People</Link> · <Link to="/sessions">Sessions</Link> ·{" "}
        <Link to="/sign-in">Sign in</Link> · <Link to="/sign-up">Sign up</Link>
      </nav>
      <main>
        <Page key={location.pathname} location={location} />
      </main>
    </>
  );
}
