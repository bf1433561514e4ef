import { z } from 'zod';
import { DeviceCredential, DevicePending, DeviceSignature } from './devices.js';
import { ERROR_CODES } from './errors.js';
import { ChannelEvent, Signal } from './events.js';
import { Id, Seq, User } from './model.js';

export const PROTOCOL_VERSION = 1;

const requestId = z.string().min(1).max(64);

/** Frames a client sends. Every one is a JSON object with a type tag `t`. */
export const ClientFrame = z.discriminatedUnion('t', [
  z.object({
    t: z.literal('auth'),
    id: requestId,
    v: z.number().int(),
    token: z.string().min(1).max(512),
    /** The device key's signature over the hello's challenge and this token (a `challenge` proof, transport `websocket`). */
    proof: DeviceSignature.optional(),
    /** Last seq the client holds per channel: the server sends what came after, then live events. */
    cursors: z.record(Id, Seq).optional(),
  }),
  z.object({ t: z.literal('cmd'), id: requestId, cmd: z.string().min(1).max(64), args: z.unknown().optional() }),
  z.object({ t: z.literal('ping') }),
]);
export type ClientFrame = z.infer<typeof ClientFrame>;

/**
 * A signed-in session: a short-lived access token bound to this device (for the socket and every
 * other request, each with a device proof) and the device's long-lived credential to renew it.
 */
export const SessionGranted = z.object({ token: z.string(), expiresAt: z.number(), user: User, device: DeviceCredential });
export type SessionGranted = z.infer<typeof SessionGranted>;

/**
 * The password was right and a second step is due: a code from the authenticator app (`totp`),
 * a passkey (`passkey`, when that is the only factor), or, where the workspace requires two factors, enrolling one first (`enroll`).
 */
export const SecondStepRequired = z.object({
  mfa: z.enum(['totp', 'passkey', 'enroll']),
  challenge: z.string(),
  expiresAt: z.number(),
  /** Every second factor the account has; any one of them finishes the sign-in. */
  factors: z.array(z.enum(['totp', 'passkey'])).optional(),
});
export type SecondStepRequired = z.infer<typeof SecondStepRequired>;

/** The REST sign-in answer. */
export const LoginResult = z.union([SessionGranted, SecondStepRequired, DevicePending]);
export type LoginResult = z.infer<typeof LoginResult>;

export const AuthResult = z.object({
  user: User,
  sessionId: z.string(),
  /** Every channel the user is subscribed to, with the newest seq at this moment. */
  channels: z.record(Id, Seq),
  heartbeatMs: z.number().int(),
  /** Channels whose backlog after the cursor was longer than one catch-up: fetch with events.sync. */
  truncated: z.array(Id),
});
export type AuthResult = z.infer<typeof AuthResult>;

/** Frames the server sends. */
export const ServerFrame = z.discriminatedUnion('t', [
  /** `challenge`: the nonce this connection's device proof signs. */
  z.object({ t: z.literal('hello'), v: z.number().int(), maxFrameBytes: z.number().int(), challenge: z.string().optional() }),
  z.object({ t: z.literal('result'), id: requestId, data: z.unknown() }),
  z.object({
    t: z.literal('error'),
    id: requestId.optional(),
    code: z.enum(ERROR_CODES),
    message: z.string(),
    details: z.unknown().optional(),
  }),
  z.object({ t: z.literal('event'), e: ChannelEvent }),
  z.object({ t: z.literal('signal'), s: Signal }),
  /** Membership changed: the session is now (un)subscribed to this channel. */
  z.object({ t: z.literal('subscribed'), channelId: Id, lastSeq: Seq }),
  z.object({ t: z.literal('unsubscribed'), channelId: Id }),
  z.object({ t: z.literal('pong') }),
]);
export type ServerFrame = z.infer<typeof ServerFrame>;

/** WebSocket close codes the server uses, with the reason as close text. */
export const CLOSE_CODES = {
  normal: 1000,
  goingAway: 1001,
  tooLarge: 1009,
  authFailed: 4001,
  authTimeout: 4002,
  /** The account was deactivated, its role or password changed, or this device was revoked: sign in again (or not at all). */
  revoked: 4003,
  slowConsumer: 4008,
  rateLimited: 4029,
  heartbeatTimeout: 4010,
} as const;
