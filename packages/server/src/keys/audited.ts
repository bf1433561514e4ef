import { Counter, type Registry } from 'prom-client';
import { SotongError } from '@sotong/protocol';
import type { KeyContext, KeyProvider, WrappedKey } from './provider.js';

/** One CMK use, for the audit log: which operation, under which CMK version, for what, and how it went. */
export interface CmkUse {
  operation: 'generate_data_key' | 'decrypt' | 'rewrap' | 'rotate_master';
  provider: string;
  cmkId: string | null;
  workspaceId: string | null;
  scope: string | null;
  outcome: 'ok' | 'unavailable' | 'rejected' | 'error';
}

export type CmkAuditor = (use: CmkUse) => Promise<void>;

function outcomeOf(err: unknown): CmkUse['outcome'] {
  if (!(err instanceof SotongError)) return 'error';
  return err.code === 'unavailable' ? 'unavailable' : 'rejected';
}

/**
 * Wraps any provider (the Mattermost layer pattern): every use of the CMK is counted in
 * `sotong_kms_operations_total` and written to the audit log, whatever the provider. Generating,
 * rewrapping and rotating wait for their audit entry, and fail if it cannot be written. Decrypt
 * does not wait: it runs on read paths, possibly inside a store transaction that the audit write
 * would have to queue behind (SQLite has one writer); a failed entry goes to `onAuditError`.
 */
export class AuditedKeyProvider implements KeyProvider {
  readonly name: string;
  private readonly counter: Counter<'provider' | 'operation' | 'outcome'>;

  constructor(
    private readonly inner: KeyProvider,
    registry: Registry,
    private readonly audit: CmkAuditor,
    private readonly onAuditError: (err: unknown) => void = () => {},
  ) {
    this.name = inner.name;
    const existing = registry.getSingleMetric('sotong_kms_operations_total') as Counter<'provider' | 'operation' | 'outcome'> | undefined;
    this.counter =
      existing ??
      new Counter({ name: 'sotong_kms_operations_total', help: 'Uses of the customer master key, by operation and outcome', labelNames: ['provider', 'operation', 'outcome'], registers: [registry] });
  }

  currentCmkId(): Promise<string> {
    return this.inner.currentCmkId();
  }

  generateDataKey(context: KeyContext): Promise<WrappedKey & { plaintext: Buffer }> {
    return this.use('generate_data_key', context, null, () => this.inner.generateDataKey(context));
  }

  decrypt(key: WrappedKey, context: KeyContext): Promise<Buffer> {
    return this.use('decrypt', context, key.cmkId, () => this.inner.decrypt(key, context));
  }

  rewrap(key: WrappedKey, context: KeyContext): Promise<WrappedKey> {
    return this.use('rewrap', context, key.cmkId, () => this.inner.rewrap(key, context));
  }

  rotateMaster(): Promise<string> {
    return this.use('rotate_master', {}, null, () => this.inner.rotateMaster());
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private async use<T>(operation: CmkUse['operation'], context: KeyContext, cmkId: string | null, work: () => Promise<T>): Promise<T> {
    const base = { operation, provider: this.name, workspaceId: context.workspace ?? null, scope: context.scope ?? null };
    let result: T;
    try {
      result = await work();
    } catch (err) {
      const outcome = outcomeOf(err);
      this.counter.inc({ provider: this.name, operation, outcome });
      this.audit({ ...base, cmkId, outcome }).catch(this.onAuditError);
      throw err;
    }
    this.counter.inc({ provider: this.name, operation, outcome: 'ok' });
    const usedCmk = typeof result === 'string' ? result : ((result as Partial<WrappedKey>).cmkId ?? cmkId);
    const audited = this.audit({ ...base, cmkId: usedCmk, outcome: 'ok' });
    if (operation === 'decrypt') audited.catch(this.onAuditError);
    else await audited;
    return result;
  }
}
