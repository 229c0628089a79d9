import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// `vite` and `vite preview` both answer every unknown path with index.html, so the links in the
// server's mails (/verify-email?token=..., /reset-password?token=...) open the app.
export default defineConfig({
  plugins: [react()],
  server: { host: "localhost", port: 5173, strictPort: true },
  preview: { host: "localhost", port: 4173, strictPort: true },
});
