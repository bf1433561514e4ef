import { DEVICE_PROOF_HEADER, SotongError } from '@sotong/protocol';
import { Server as TusServer, type Upload } from '@tus/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { SealedUploadStore } from '../blobs/sealed-uploads.js';
import type { Services } from '../services/dispatch.js';
import type { FileService } from '../services/files.js';
import type { Actor } from '../services/permissions.js';
import { API_PREFIX } from './api.js';
import { authenticateRequest } from './device-auth.js';
import { HTTP_STATUS } from './errors.js';

export interface TusOptions {
  /** Where unfinished uploads wait, encrypted (`blobs/sealed-uploads.ts`). */
  datastore: SealedUploadStore;
  maxFileBytes: number;
}

const PATH = `${API_PREFIX}/uploads`;

/**
 * Resumable uploads with the tus protocol (tus.io, v1.0.0): the client creates an upload
 * (`Upload-Metadata: channelId …, filename …`, both base64), PATCHes bytes, and after a dropped
 * connection asks the offset with HEAD and continues from there. The finished bytes go through the
 * same `FileService.upload` as a one-request upload; the last PATCH answers 200 with the file.
 * An upload id starts with its owner's user id, so nobody else can continue or read it.
 */
export async function registerTusUploads(app: FastifyInstance, services: Services, files: FileService, options: TusOptions): Promise<void> {
  const { datastore } = options;
  // Each request is authenticated once, before tus sees it (a device proof is good for one use);
  // tus's callbacks find the actor by the request's proof header, unique per request.
  const actors = new Map<string, Actor>();
  const actorOf = async (proof: string | null): Promise<Actor> => {
    const actor = proof === null ? undefined : actors.get(proof);
    if (!actor) throw new SotongError('unauthenticated', 'send Authorization: Bearer <token> and a device proof');
    return actor;
  };
  const metadataOf = (upload: Upload) => {
    const channelId = upload.metadata?.channelId;
    const name = upload.metadata?.filename;
    if (!channelId || !name) throw new SotongError('bad_request', 'Upload-Metadata needs channelId and filename');
    return { channelId, name };
  };

  const tus = new TusServer({
    path: PATH,
    datastore,
    maxSize: options.maxFileBytes,
    relativeLocation: true,
    namingFunction: async (req) => `${(await actorOf(req.headers.get(DEVICE_PROOF_HEADER))).userId}-${randomBytes(16).toString('hex')}`,
    onIncomingRequest: async (req, uploadId) => {
      const actor = await actorOf(req.headers.get(DEVICE_PROOF_HEADER));
      if (!uploadId.startsWith(`${actor.userId}-`)) throw new SotongError('not_found', 'no such upload');
    },
    onUploadCreate: async (req, upload) => {
      const { channelId, name } = metadataOf(upload);
      await files.admit(await actorOf(req.headers.get(DEVICE_PROOF_HEADER)), channelId, name, upload.size);
      return {};
    },
    onUploadFinish: async (req, upload) => {
      const { channelId, name } = metadataOf(upload);
      try {
        const file = await files.upload(await actorOf(req.headers.get(DEVICE_PROOF_HEADER)), { channelId, name, body: await datastore.plaintext(upload.id) });
        return { status_code: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(file) };
      } finally {
        // Stored as a blob (or refused): the partial copy has served its purpose either way.
        await datastore.remove(upload.id);
      }
    },
    onResponseError: (_req, err) => {
      if (!(err instanceof SotongError)) return undefined;
      return { status_code: HTTP_STATUS[err.code], body: JSON.stringify(err.toBody()) };
    },
  });

  await app.register(async (scope) => {
    // tus reads the request stream itself: nothing may parse or buffer the body before it.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request: FastifyRequest, payload: IncomingMessage, done: (err: Error | null, body?: unknown) => void) => done(null, payload));
    const handle = async (request: FastifyRequest, reply: FastifyReply) => {
      const proof = request.headers[DEVICE_PROOF_HEADER];
      // A CORS preflight carries no credentials; tus answers it by itself.
      if (request.method !== 'OPTIONS') {
        const { actor } = await authenticateRequest(services, request);
        if (typeof proof === 'string') actors.set(proof, actor);
      }
      reply.hijack();
      try {
        await tus.handle(request.raw, reply.raw);
      } finally {
        if (typeof proof === 'string') actors.delete(proof);
      }
    };
    scope.all(PATH, { schema: { hide: true } }, handle);
    scope.all(`${PATH}/*`, { schema: { hide: true } }, handle);
  });
}
