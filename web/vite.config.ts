/// <reference types="vitest/config" />
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// The Python server serves dist/index.html at "/" and dist/assets/* at "/assets/...",
// so the default base "/" is kept. `npm run dev` forwards /api to a local backend.
export default defineConfig({
  plugins: [vue()],
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:8000', changeOrigin: true },
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
  },
  test: {
    environment: 'node', // component tests opt into jsdom with a @vitest-environment comment
    include: ['src/**/*.test.ts'],
    pool: 'threads',
    maxWorkers: 1,
  },
})
