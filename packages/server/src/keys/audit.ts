import type { NewAuditRow } from '../store/schema.js';
import type { StoreProvider } from '../store/store.js';
import type { CmkAuditor, CmkUse } from './audited.js';

/**
 * CMK uses go to the same append-only audit log as sign-ins, as `kms.<operation>`, written in
 * batches: uses that arrive while a batch is being written go in the next one.
 */
export function storeAuditor(store: StoreProvider, now: () => number = Date.now): CmkAuditor {
  let pending: { row: NewAuditRow; done: (err?: unknown) => void }[] = [];
  let writing: Promise<void> | undefined;

  const flush = async (): Promise<void> => {
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      try {
        await store.transaction(async (tx) => {
          for (const { row } of batch) await tx.security.audit(row);
        });
        for (const entry of batch) entry.done();
      } catch (err) {
        for (const entry of batch) entry.done(err);
      }
    }
    writing = undefined;
  };

  return (use: CmkUse) =>
    new Promise<void>((resolve, reject) => {
      const row: NewAuditRow = {
        at: now(),
        workspace_id: use.workspaceId,
        actor_id: null,
        action: `kms.${use.operation}`,
        target: use.cmkId,
        address: null,
        details: JSON.stringify({ provider: use.provider, scope: use.scope, outcome: use.outcome }),
      };
      pending.push({ row, done: (err) => (err === undefined ? resolve() : reject(err)) });
      // Started on the next turn, so that a caller inside a store transaction is never waited for.
      writing ??= new Promise<void>((r) => setImmediate(r)).then(flush);
    });
}
