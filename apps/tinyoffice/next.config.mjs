/**
 * TinyOffice is a static export the daemon serves at its own origin (docs/architecture.md).
 * `next dev` proxies /api to the daemon so the page stays same-origin there too.
 */
const daemon = process.env.TINYAGI_API_URL ?? 'http://127.0.0.1:3777';
const isDev = process.env.NODE_ENV === 'development';

/** @type {import('next').NextConfig} */
const config = {
  ...(isDev ? { rewrites: async () => [{ source: '/api/:path*', destination: `${daemon}/api/:path*` }] } : { output: 'export' }),
  images: { unoptimized: true },
  poweredByHeader: false,
  // gzip would buffer the proxied event stream in `next dev` (the export itself is served by the daemon).
  compress: false,
  reactStrictMode: true,
  // The repo's TypeScript is the native compiler (no JS API for next's checker): `pnpm typecheck` checks the app.
  typescript: { ignoreBuildErrors: true },
  devIndicators: false,
};

export default config;
