import { SotongError } from '@sotong/protocol';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../logger.js';

/** Where `npm run build` puts the web client (packages/web/dist/app), seen from dist/src/http. */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../../../web/dist/app/', import.meta.url));

/**
 * The web client's policy: scripts, styles and connections only from this origin (the socket
 * included), images and media also from blob: URLs the client makes from authorised downloads,
 * no plugins, no framing, no <base> tricks.
 */
export const WEB_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/** Paths that belong to the server, never to the client's router. */
const SERVER_PATHS = /^\/(api|ws|healthz|readyz|metrics)(\/|$)/;

async function fileIn(root: string, urlPath: string): Promise<string | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  const path = resolve(root, `.${decoded}`);
  if (path !== root && !path.startsWith(root + sep)) return undefined;
  const info = await stat(path).catch(() => undefined);
  return info?.isFile() ? path : undefined;
}

function send(reply: FastifyReply, path: string, immutable: boolean): FastifyReply {
  return reply
    .header('content-type', TYPES[extname(path)] ?? 'application/octet-stream')
    .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
    .send(createReadStream(path));
}

/**
 * Serves the built web client at `/`: its files as they are, and index.html for any other
 * path the client's router owns. Without a build there is nothing to serve, and `/` says so.
 */
export async function registerWebApp(app: FastifyInstance, webDir: string, log: Logger): Promise<void> {
  const root = resolve(webDir);
  const index = resolve(root, 'index.html');
  const built = await stat(index).then((s) => s.isFile()).catch(() => false);
  if (!built) log.warn({ webDir: root }, 'web client not built: `/` will answer 404 (run npm run build)');

  app.get('/*', { schema: { hide: true } }, async (request, reply) => {
    const urlPath = request.url.split('?')[0] ?? '/';
    if (SERVER_PATHS.test(urlPath) || !built) throw new SotongError('not_found', `no route GET ${urlPath}`);
    void reply
      .header('content-security-policy', WEB_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY');
    const file = urlPath === '/' ? undefined : await fileIn(root, urlPath);
    if (file) return send(reply, file, urlPath.startsWith('/assets/'));
    // A missing asset is an error, not the app: a stale tab would otherwise run HTML as script.
    if (urlPath.startsWith('/assets/') || extname(urlPath) !== '') throw new SotongError('not_found', `no file ${urlPath}`);
    return send(reply, index, false);
  });
}
