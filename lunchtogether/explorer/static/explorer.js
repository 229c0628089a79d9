// The LunchTogether explorer: GraphiQL sending its operations to the URL of this page, with the
// page's cookie, so that a signed-in browser queries as its user. A file of its own, not inline
// script, so that the page's Content-Security-Policy can say `script-src 'self'` and nothing more.
"use strict";

const ACCEPT = "application/graphql-response+json, application/json";

async function fetcher(params, options) {
  const response = await fetch(window.location.pathname, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: ACCEPT, ...options?.headers },
    body: JSON.stringify(params),
  });
  return response.json();
}

ReactDOM.createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, { fetcher, defaultEditorToolsVisibility: true }),
);
