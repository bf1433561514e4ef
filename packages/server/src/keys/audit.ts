import type { StoreProvider } from '../store/store.js';
import type { CmkAuditor } from './audited.js';

/** CMK uses go to the same append-only audit log as sign-ins, as `kms.<operation>`. */
export function storeAuditor(store: StoreProvider, now: () => number = Date.now): CmkAuditor {
  return (use) =>
    store.transaction((tx) =>
      tx.security.audit({
        at: now(),
        workspace_id: use.workspaceId,
        actor_id: null,
        action: `kms.${use.operation}`,
        target: use.cmkId,
        address: null,
        details: JSON.stringify({ provider: use.provider, scope: use.scope, outcome: use.outcome }),
      }),
    );
}
