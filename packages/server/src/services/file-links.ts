import { SotongError } from '@sotong/protocol';
import { createHmac, timingSafeEqual } from 'node:crypto';

export type LinkVariant = 'content' | 'preview';

export interface LinkClaims {
  fileId: string;
  userId: string;
  variant: LinkVariant;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/** The query parameter that carries the signature; the logger hides its value. */
export const SIGNATURE_PARAM = 'sig';

/**
 * Short-lived download links for what cannot send a bearer token (`<img>`, `<video>`): an
 * HMAC-SHA256 over the file, the user it was issued to, the variant and the expiry. Whoever holds
 * the link can use it until it expires, so links are issued only after the permission check and
 * live minutes, not days; the download checks the permission again.
 */
export class FileLinkSigner {
  constructor(
    private readonly key: Buffer,
    readonly ttlMs: number,
  ) {}

  /** The query string of a link (without `?`). */
  sign(claims: LinkClaims): string {
    const params = new URLSearchParams({ u: claims.userId, v: claims.variant, exp: String(claims.expiresAt) });
    params.set(SIGNATURE_PARAM, this.mac(claims));
    return params.toString();
  }

  /** The claims of a genuine, unexpired link; `forbidden` for anything else (tampered, expired, malformed). */
  verify(fileId: string, query: Record<string, unknown>, now: number): LinkClaims {
    const { u, v, exp } = query;
    const sig = query[SIGNATURE_PARAM];
    if (typeof u !== 'string' || (v !== 'content' && v !== 'preview') || typeof exp !== 'string' || !/^\d{1,15}$/.test(exp) || typeof sig !== 'string') {
      throw new SotongError('forbidden', 'not a valid file link');
    }
    const claims: LinkClaims = { fileId, userId: u, variant: v, expiresAt: Number(exp) };
    const expected = Buffer.from(this.mac(claims), 'base64url');
    const given = Buffer.from(sig, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new SotongError('forbidden', 'not a valid file link');
    if (claims.expiresAt <= now) throw new SotongError('forbidden', 'the file link has expired; ask for a new one', { expiredAt: claims.expiresAt });
    return claims;
  }

  private mac(claims: LinkClaims): string {
    return createHmac('sha256', this.key)
      .update(['sotong-file-link-v1', claims.variant, claims.fileId, claims.userId, String(claims.expiresAt)].join('\n'))
      .digest('base64url');
  }
}
