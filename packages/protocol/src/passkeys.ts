import { z } from 'zod';

/** One of my passkeys (WebAuthn credentials) as the server lists it. */
export const PasskeyInfo = z.object({ id: z.string(), name: z.string(), createdAt: z.number(), lastUsedAt: z.number().nullable(), backedUp: z.boolean() });
export type PasskeyInfo = z.infer<typeof PasskeyInfo>;

/** The options for `navigator.credentials.create/get`, and the handle that finishes the ceremony. */
export interface Ceremony<T> {
  ceremony: string;
  options: T;
}
