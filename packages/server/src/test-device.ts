import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { DEVICE_PROOF_HEADER, deviceProofMessage, formatRequestProof, type DeviceEnrolment, type DeviceProofClaims } from '@sotong/protocol';

const hashOf = (secret: string) => createHash('sha256').update(secret).digest('base64url');

/**
 * A device key for tests and the bench, in the same process as the code that uses it: signs
 * synchronously with node:crypto. (Applications use the SDK's device keys.)
 */
export class TestDevice {
  readonly publicKey: string;

  private constructor(private readonly privateKey: KeyObject) {
    const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
    this.publicKey = jwk.x!;
  }

  static generate(): TestDevice {
    return new TestDevice(generateKeyPairSync('ed25519').privateKey);
  }

  /** From `export()`: a loadgen process signs for identities the orchestrator made. */
  static import(pkcs8: string): TestDevice {
    return new TestDevice(createPrivateKey({ key: Buffer.from(pkcs8, 'base64'), format: 'der', type: 'pkcs8' }));
  }

  export(): string {
    return this.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
  }

  enrolment(name = 'test device', platform = 'node'): DeviceEnrolment {
    return { name, platform, publicKey: this.publicKey };
  }

  sign(claims: DeviceProofClaims): string {
    return sign(null, Buffer.from(deviceProofMessage(claims), 'utf8'), this.privateKey).toString('base64url');
  }

  /** The `proof` of a WebSocket auth frame for the hello's challenge. */
  challengeProof(token: string, nonce: string, transport = 'websocket'): string {
    return this.sign({ kind: 'challenge', transport, nonce, tokenHash: hashOf(token) });
  }

  /** The headers of a REST request: the token and a fresh proof for this method and path. */
  requestHeaders(token: string, method: string, path: string, timestamp = Date.now()): Record<string, string> {
    const nonce = randomBytes(16).toString('base64url');
    const signature = this.sign({ kind: 'request', method, path, timestamp, nonce, tokenHash: hashOf(token) });
    return { authorization: `Bearer ${token}`, [DEVICE_PROOF_HEADER]: formatRequestProof(timestamp, nonce, signature) };
  }

  /** The body of `POST /api/v1/auth/refresh`. */
  refreshBody(deviceId: string, credential: string, timestamp = Date.now()) {
    const nonce = randomBytes(16).toString('base64url');
    return { deviceId, credential, timestamp, nonce, signature: this.sign({ kind: 'refresh', deviceId, timestamp, nonce, tokenHash: hashOf(credential) }) };
  }
}

/** The device each token from the test helpers was issued to, so helpers can sign for a token alone. */
const devicesByToken = new Map<string, TestDevice>();

export function rememberDevice(token: string, device: TestDevice): void {
  devicesByToken.set(token, device);
}

export function deviceOf(token: string): TestDevice | undefined {
  return devicesByToken.get(token);
}
