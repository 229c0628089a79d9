import type { CodegenConfig } from "@graphql-codegen/cli";
import { addTypenameSelectionDocumentTransform } from "@graphql-codegen/client-preset";

// Typed documents from the server's own schema (so a change to it breaks this build, not the app in use),
// and the manifest of every document the app sends: the server runs those and, in production, only those.
const config: CodegenConfig = {
  schema: "../../schema.graphql",
  documents: ["src/**/*.{ts,tsx}", "!src/gql/**/*"],
  ignoreNoDocuments: false,
  generates: {
    "./src/gql/": {
      preset: "client",
      presetConfig: {
        persistedDocuments: true,
        fragmentMasking: false,
      },
      // Apollo's cache asks every object for __typename; the stored documents must ask for it too,
      // because the server runs the manifest's text, not what the client would have sent.
      documentTransforms: [addTypenameSelectionDocumentTransform],
      config: {
        enumsAsTypes: true,
        scalars: { DateTime: "string", Upload: "File" },
      },
    },
  },
};

export default config;
