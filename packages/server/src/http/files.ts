import { ChannelFile, FileInfo, Id } from '@sotong/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import type { Services } from '../services/dispatch.js';
import { servedInline } from '../services/file-types.js';
import type { FileService, Served } from '../services/files.js';
import { API_PREFIX, authenticator, errorResponses } from './api.js';
import { contentDisposition } from './content-disposition.js';
import { parseRange } from './ranges.js';

const FileParams = z.object({ fileId: Id });

/**
 * Upload and download. The body of an upload is never parsed or buffered: the request stream goes
 * straight to the file service, which stores it while hashing, whatever its size.
 */
export async function registerFileRoutes(app: FastifyInstance, services: Services, files: FileService): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request: FastifyRequest, payload: IncomingMessage, done: (err: Error | null, body?: unknown) => void) => done(null, payload));
    const api = scope.withTypeProvider<ZodTypeProvider>();
    const preHandler = authenticator(services);

    api.post(
      `${API_PREFIX}/files`,
      {
        preHandler,
        schema: {
          summary: 'Upload a file (the raw bytes as the body) to a channel; send it with message.send {fileIds}',
          tags: ['files'],
          security: [{ bearer: [] }],
          querystring: z.object({ channelId: Id, name: z.string().min(1).max(1024) }),
          response: { 200: FileInfo, ...errorResponses },
        },
      },
      async (request) => {
        const length = Number(request.headers['content-length']);
        return files.upload(request.actor!, {
          channelId: request.query.channelId,
          name: request.query.name,
          body: request.raw,
          ...(Number.isSafeInteger(length) ? { declaredSize: length } : {}),
        });
      },
    );

    api.get(
      `${API_PREFIX}/channels/:channelId/files`,
      {
        preHandler,
        schema: {
          summary: "The files sent in a channel, newest first; pass nextBefore as before for the next page",
          tags: ['files'],
          security: [{ bearer: [] }],
          params: z.object({ channelId: Id }),
          querystring: z.object({ before: Id.optional(), limit: z.coerce.number().int().min(1).max(200).default(50) }),
          response: { 200: z.object({ files: z.array(ChannelFile), nextBefore: Id.nullable() }), ...errorResponses },
        },
      },
      async (request) => files.ofChannel(request.actor!, request.params.channelId, { limit: request.query.limit, ...(request.query.before ? { before: request.query.before } : {}) }),
    );

    api.get(
      `${API_PREFIX}/files/:fileId/info`,
      { preHandler, schema: { summary: 'What a file is: name, type, size, dimensions', tags: ['files'], security: [{ bearer: [] }], params: FileParams, response: { 200: FileInfo, ...errorResponses } } },
      async (request) => files.info(await files.readable(request.actor!, request.params.fileId)),
    );

    api.get(
      `${API_PREFIX}/files/:fileId`,
      { preHandler, schema: { summary: 'Download a file (Range requests supported)', tags: ['files'], security: [{ bearer: [] }], params: FileParams } },
      async (request, reply) => {
        const file = await files.readable(request.actor!, request.params.fileId);
        return sendBlob(request, reply, files, files.served(file, 'content'));
      },
    );

    api.get(
      `${API_PREFIX}/files/:fileId/preview`,
      { preHandler, schema: { summary: 'A small image of the file, once made (404 until then)', tags: ['files'], security: [{ bearer: [] }], params: FileParams } },
      async (request, reply) => {
        const preview = await files.preview(await files.readable(request.actor!, request.params.fileId));
        return sendBlob(request, reply, files, preview);
      },
    );

    api.get(
      `${API_PREFIX}/files/:fileId/link`,
      {
        preHandler,
        schema: {
          summary: 'A short-lived URL that downloads the file (or its preview) without a bearer token, for <img> and <video>',
          tags: ['files'],
          security: [{ bearer: [] }],
          params: FileParams,
          querystring: z.object({ variant: z.enum(['content', 'preview']).default('content') }),
          response: { 200: z.object({ url: z.string(), expiresAt: z.number().int() }), ...errorResponses },
        },
      },
      async (request) => files.link(request.actor!, request.params.fileId, request.query.variant),
    );

    api.get(
      `${API_PREFIX}/files/:fileId/signed`,
      {
        schema: {
          summary: 'Download through a link from /files/:fileId/link (Range requests supported); the link is the credential',
          tags: ['files'],
          params: FileParams,
          querystring: z.record(z.string(), z.unknown()),
        },
      },
      async (request, reply) => {
        const served = await files.byLink(request.params.fileId, request.query);
        // Cached no longer than the link lives; the link never travels on as a Referer.
        const maxAge = Math.max(0, Math.floor((served.expiresAt - Date.now()) / 1000));
        void reply.header('referrer-policy', 'no-referrer');
        return sendBlob(request, reply, files, served, `private, max-age=${maxAge}`);
      },
    );

    api.post(
      `${API_PREFIX}/admin/files/collect`,
      {
        preHandler,
        schema: {
          summary: 'Forget deleted files and remove blobs nothing refers to (workspace admins)',
          tags: ['admin'],
          security: [{ bearer: [] }],
          response: { 200: z.object({ files: z.number().int(), blobs: z.number().int() }), ...errorResponses },
        },
      },
      async (request) => files.collect(request.actor!),
    );
  });
}

async function sendBlob(request: FastifyRequest, reply: FastifyReply, files: FileService, served: Served, cacheControl = 'private, max-age=3600') {
  const { size, mime, name } = served;
  const range = parseRange(request.headers.range, size);
  if (range === null) return reply.code(416).header('accept-ranges', 'bytes').header('content-range', `bytes */${size}`).send();
  // Opened before any header is set: a blob that does not open is a typed error, not a cut download.
  const body = await files.blob(served, range);
  void reply
    .header('content-type', mime)
    .header('content-disposition', contentDisposition(servedInline(mime) ? 'inline' : 'attachment', name))
    .header('x-content-type-options', 'nosniff')
    .header('accept-ranges', 'bytes')
    .header('cache-control', cacheControl);
  if (range === undefined) return reply.header('content-length', size).send(body);
  return reply
    .code(206)
    .header('content-range', `bytes ${range.start}-${range.end}/${size}`)
    .header('content-length', range.end - range.start + 1)
    .send(body);
}
