import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The server serves dist/app at `/` (packages/server/src/http/web.ts); dist/test holds the
// compiled browser tests, so the app gets a folder of its own.
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist/app', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1024 },
});
