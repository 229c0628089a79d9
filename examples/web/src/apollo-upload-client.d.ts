// apollo-upload-client ships JavaScript typed by JSDoc, which TypeScript reads only by type-checking
// the package's own files; this states the part of it the app uses.
declare module "apollo-upload-client/UploadHttpLink.mjs" {
  import { ApolloLink } from "@apollo/client/link";

  export default class UploadHttpLink extends ApolloLink {
    constructor(options?: {
      uri?: string;
      credentials?: RequestCredentials;
      headers?: Record<string, string>;
      fetchOptions?: RequestInit;
      useGETForQueries?: boolean;
    });
  }
}
