/**
 * TinyOffice served by the daemon itself: the static export of apps/tinyoffice (HTML, JS, CSS,
 * fonts) on the daemon's own origin, so the page talks to the API same-origin with its session
 * cookie and there is no second process. Paths outside /api resolve inside the export directory
 * only (`/conversations` -> conversations.html); anything else is the export's 404 page.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ServerContext } from './context.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.map': 'application/json; charset=utf-8',
};

/**
 * Nothing from another origin, no framing. Next's static export bootstraps with inline scripts,
 * hence 'unsafe-inline' for scripts; connect-src 'self' keeps every request on this origin.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** The file a URL path names inside `root`, or undefined (no traversal: the result stays under root). */
export async function resolveOfficeFile(root: string, urlPath: string): Promise<string | undefined> {
  let path: string;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (path.includes('\0') || path.includes('\\')) return undefined;
  const base = resolve(root);
  const target = resolve(base, `.${path.startsWith('/') ? path : `/${path}`}`);
  if (target !== base && !target.startsWith(base + sep)) return undefined;
  const candidates = path.endsWith('/') ? [join(target, 'index.html')] : [target, `${target}.html`, join(target, 'index.html')];
  for (const candidate of candidates) if (await isFile(candidate)) return candidate;
  return undefined;
}

async function send(reply: FastifyReply, file: string, status: number): Promise<FastifyReply> {
  const ext = extname(file);
  reply.code(status).type(TYPES[ext] ?? 'application/octet-stream');
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
  if (ext === '.html') {
    reply.header('content-security-policy', CSP);
    reply.header('x-frame-options', 'DENY');
    reply.header('cache-control', 'no-cache');
  } else if (file.includes(`${sep}_next${sep}static${sep}`)) {
    reply.header('cache-control', 'public, max-age=31536000, immutable');
  }
  return reply.send(await readFile(file));
}

/** Serves `ctx.officeDir` (read per request: the route is built before the context is filled). */
export function registerOfficeStatic(app: FastifyInstance, ctx: ServerContext): void {
  app.route({
    method: ['GET', 'HEAD'],
    url: '/*',
    config: { auth: 'none' },
    schema: { hide: true },
    handler: async (request, reply) => {
      const path = request.url.split('?')[0] ?? '/';
      const root = ctx.officeDir;
      if (root === undefined || path === '/api' || path.startsWith('/api/')) return reply.callNotFound();
      const file = await resolveOfficeFile(root, path);
      if (file) return send(reply, file, 200);
      const notFound = await resolveOfficeFile(root, '/404');
      if (notFound) return send(reply, notFound, 404);
      return reply.callNotFound();
    },
  });
}
