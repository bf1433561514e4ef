import type { StoreProvider } from '../store/store.js';
import { channelScope, type KeyRing } from './key-ring.js';

export interface KeyStatus {
  provider: string;
  currentCmkId: string;
  /** Data keys per CMK version: all under the current one once a rotation is complete. */
  keysByCmk: Record<string, number>;
  keys: number;
  scopes: number;
}

/**
 * What an operator does to keys (`sotong keys …`), each step in the audit log. Deleting a
 * channel or a workspace, or a retention expiry, calls `shredChannel` / `shredWorkspace`.
 */
export class KeyAdmin {
  constructor(
    private readonly ring: KeyRing,
    private readonly store: StoreProvider,
    private readonly now: () => number = Date.now,
  ) {}

  async status(): Promise<KeyStatus> {
    const census = await this.store.read.dataKeys.census();
    return { provider: this.ring.provider.name, currentCmkId: await this.ring.provider.currentCmkId(), keysByCmk: census.byCmk, keys: census.total, scopes: census.scopes };
  }

  /** A new CMK version (unless `rewrapOnly`, which finishes an interrupted rotation), then every data key re-wrapped under it. */
  async rotateMaster(options: { rewrapOnly?: boolean; onProgress?: (done: number, remaining: number) => void } = {}): Promise<{ cmkId: string; rewrapped: number }> {
    if (!options.rewrapOnly) await this.ring.provider.rotateMaster();
    const result = await this.ring.rewrapAll(options.onProgress);
    await this.audit(null, 'keys.rotate_master', result.cmkId, { rewrapped: result.rewrapped, rewrapOnly: options.rewrapOnly === true });
    return result;
  }

  async rotateChannel(channelId: string): Promise<void> {
    await this.ring.rotateScope(channelScope(channelId));
    await this.audit(await this.workspaceOf(channelId), 'keys.rotate_channel', channelId, {});
  }

  async shredChannel(channelId: string): Promise<number> {
    const workspaceId = await this.workspaceOf(channelId);
    const destroyed = await this.ring.shredScope(channelScope(channelId));
    await this.audit(workspaceId, 'keys.shred_channel', channelId, { destroyed });
    return destroyed;
  }

  async shredWorkspace(workspaceId: string): Promise<number> {
    const destroyed = await this.ring.shredWorkspace(workspaceId);
    await this.audit(workspaceId, 'keys.shred_workspace', workspaceId, { destroyed });
    return destroyed;
  }

  private async workspaceOf(channelId: string): Promise<string | null> {
    return (await this.store.read.channels.byId(channelId))?.workspace_id ?? null;
  }

  private audit(workspaceId: string | null, action: string, target: string, details: Record<string, unknown>): Promise<void> {
    return this.store.transaction((tx) => tx.security.audit({ at: this.now(), workspace_id: workspaceId, actor_id: null, action, target, address: null, details: JSON.stringify(details) }));
  }
}
