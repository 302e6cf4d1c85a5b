import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import type { Plugin } from 'vite'

// The built resident H5 is served by the Python server under /h5/ (SPA history mode).
const backend = process.env.JIZUO_BACKEND ?? 'http://127.0.0.1:8000'

// Vant's icon font is inlined as WOFF2 (a data: URL); its CSS also names a CDN copy as a fallback. Nothing may be
// loaded from outside the platform, so the fallback is removed from the bundle.
function noCdnFonts(): Plugin {
  const fallback = /,\s*url\((?:https?:)?\/\/at\.alicdn\.com\/[^)]*\)\s*format\(["']woff["']\)/g
  return {
    name: 'jizuo-no-cdn-fonts',
    enforce: 'post',
    transform(code, id) {
      return id.includes('vant') && id.endsWith('.css') ? code.replace(fallback, '') : null
    },
    generateBundle(_options, bundle) {
      for (const file of Object.values(bundle)) {
        if (file.type === 'asset' && file.fileName.endsWith('.css') && typeof file.source === 'string') {
          file.source = file.source.replace(fallback, '')
        }
      }
    },
  }
}

export default defineConfig({
  base: '/h5/',
  plugins: [vue(), noCdnFonts()],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  server: {
    port: 5174,
    proxy: {
      '/api': { target: backend, changeOrigin: true },
      '/healthz': { target: backend, changeOrigin: true },
    },
  },
  build: {
    outDir: '../../jizuo/web/resident',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 900,
    assetsInlineLimit: 0,
  },
})
