import { ApolloClient, ApolloLink, InMemoryCache } from "@apollo/client";
import { createPersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { relayStylePagination } from "@apollo/client/utilities";
import UploadHttpLink from "apollo-upload-client/UploadHttpLink.mjs";

/** The API's GraphQL endpoint: another origin of the same site, so the SameSite=Lax cookie goes with each request. */
export const API_URL: string = import.meta.env.VITE_API_URL ?? "http://localhost:8000/graphql";

/** The header the server's CSRF rule asks of a multipart request; pass it as an operation's context. */
export const UPLOAD_CONTEXT = { headers: { "Apollo-Require-Preflight": "true" } };

/** An avatar's address: the API answers a root-relative one (`/media/...`) unless it knows its public URL. */
export function mediaUrl(path: string): string {
  return new URL(path, API_URL).href;
}

// Sends a document's hash instead of its text: the hash codegen put into the document is the key of its
// manifest, the only documents a server with TRUSTED_DOCUMENTS_ONLY=true runs. Queries go as GET.
const persistedDocuments = createPersistedQueryLink({
  generateHash: (document) => (document as unknown as { __meta__: { hash: string } }).__meta__.hash,
  useGETForHashedQueries: true,
});

// Apollo Client 4 has no upload link of its own; this one sends JSON (or GET) unless the variables hold a file.
const http = new UploadHttpLink({ uri: API_URL, credentials: "include" });

export const client = new ApolloClient({
  link: ApolloLink.from([persistedDocuments, http]),
  cache: new InMemoryCache({
    typePolicies: { Query: { fields: { users: relayStylePagination() } } },
  }),
});
