import { type FormEvent, type ReactNode, useState } from "react";
import { errorMessage } from "./errors";

/** A labelled input; the label wraps it, so the page reads (and a test finds it) by its label. */
export function Field({ label, name, type = "text" }: { label: string; name: string; type?: string }) {
  return (
    <label>
      {label}
      <input name={name} type={type} required autoComplete={autoComplete(name)} />
    </label>
  );
}

function autoComplete(name: string): string {
  return { email: "username", password: "current-password", newPassword: "new-password", fullName: "name" }[name] ?? "off";
}

/** A form that runs `action` with its fields and then shows what it returns, or the error the server gave. */
export function Form({
  action,
  submit,
  children,
}: {
  action: (fields: Record<string, string>) => Promise<ReactNode>;
  submit: string;
  children: ReactNode;
}) {
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: ReactNode } | null>(null);

  const onSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const fields = Object.fromEntries(
      [...new FormData(event.currentTarget)].map(([key, value]) => [key, String(value)]),
    );
    setBusy(true);
    try {
      setOutcome({ ok: true, text: await action(fields) });
    } catch (error) {
      setOutcome({ ok: false, text: errorMessage(error) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={onSubmit}>
      {children}
      <button type="submit" disabled={busy}>
        {submit}
      </button>
      {outcome && <p role={outcome.ok ? "status" : "alert"}>{outcome.text}</p>}
    </form>
  );
}
