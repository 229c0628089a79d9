import { CombinedGraphQLErrors } from "@apollo/client/errors";

/** What the user should read about a failed operation: the message of each bad field when the
 * server named fields (`extensions.fields`), else the error's own message. */
export function errorMessage(error: unknown): string {
  if (CombinedGraphQLErrors.is(error)) {
    return error.errors
      .map((each) => {
        const fields = each.extensions?.fields as Record<string, string> | undefined;
        return fields ? Object.values(fields).join(" ") : each.message;
      })
      .join(" ");
  }
  return error instanceof Error ? error.message : String(error);
}
