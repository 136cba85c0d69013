/// <reference types="vitest/config" />
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// Relative URLs (base './'): the built page works at "/" of the Python server (dist/index.html
// at "/", dist/assets/* at "/assets/...") and from any sub-folder of a static host.
// onnxruntime-web's .wasm is emitted into dist/assets/ (src/ort.ts imports its URL), never a CDN.
// `npm run dev` forwards /api to a local backend.
export default defineConfig({
  base: './',
  plugins: [vue()],
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:8000', changeOrigin: true },
    },
  },
  optimizeDeps: {
    exclude: ['onnxruntime-web'], // pre-bundling would lose its .wasm next to it
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1000, // onnxruntime-web's lazy chunk (~850 kB) is loaded after the first paint
  },
  test: {
    environment: 'node', // component tests opt into jsdom with a @vitest-environment comment
    include: ['src/**/*.test.ts'],
    pool: 'threads',
    maxWorkers: 1,
  },
})
