import { SotongError, type DirectorySyncResult } from '@sotong/protocol';
import type { BusMessage } from '../bus/bus.js';
import { normalizeDn } from '../directory/attributes.js';
import type { DirectoryPerson, LdapDirectory } from '../directory/ldap.js';
import type { Store } from '../store/store.js';
import type { AccountService } from './accounts.js';
import { published } from './channels.js';
import type { ServiceDeps } from './context.js';
import { emptyCounts, mergeCounts, SOURCE, summary, type Context, type Counts, type Resolved, type Shared } from './directory-context.js';
import { DirectoryPeople, type DirectoryMappings } from './directory-people.js';
import { syncDepartments, syncGroups } from './directory-tree.js';

/** A sync that has not finished after this long is assumed dead; another may start. */
const LEASE_MS = 10 * 60_000;
/** People per transaction: other writes (messages) get their turn between batches. */
const BATCH = 100;

/**
 * Brings the directory into the store: OUs become the department tree, groups are recorded, then
 * people are brought in 100 to a transaction (see directory-people.ts), then those who left are
 * deactivated. One sync at a time per workspace (a lease in the store), on every node.
 */
export class DirectorySync {
  private readonly people: DirectoryPeople;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly accounts: AccountService,
    private readonly directory: LdapDirectory,
    mappings: DirectoryMappings,
  ) {
    this.people = new DirectoryPeople(deps, accounts, mappings);
  }

  async run(workspaceId: string, trigger: DirectorySyncResult['trigger'], actorId: string | null): Promise<DirectorySyncResult> {
    const startedAt = this.deps.now();
    const leased = await this.deps.queue.run(async (tx) => ({ result: await tx.directory.takeSyncLease(workspaceId, SOURCE, startedAt, startedAt + LEASE_MS) }));
    if (!leased) throw new SotongError('conflict', 'a directory sync is already running');
    try {
      const snapshot = await this.directory.snapshot();
      const counts = emptyCounts();
      counts.people = snapshot.people.length;
      const shared = await this.step(counts, async (tx) => {
        const ctx = await this.context(tx, workspaceId, await this.shared(tx, workspaceId));
        // A wrong base DN or filter returns nobody: that must not deactivate everyone.
        if (snapshot.people.length === 0 && (await tx.directory.sourceProfiles(workspaceId, SOURCE)).some((p) => p.deactivated_at === null)) {
          throw new SotongError('unavailable', 'the directory returned no people; nothing was changed (check SOTONG_LDAP_USER_BASE and the user filter)');
        }
        await syncDepartments(tx, ctx, snapshot, this.people.audit);
        await syncGroups(tx, ctx, snapshot);
        const result: Shared = { departmentByDn: ctx.departmentByDn, groupIdByDn: ctx.groupIdByDn, groupDnById: ctx.groupDnById, userIdByDn: new Map() };
        return { ctx, result };
      });

      // Who is who, before anything is written: a person's manager may come later in the list.
      const resolved: [DirectoryPerson, Resolved][] = [];
      const synced = new Map((await this.deps.store.read.directory.sourceProfiles(workspaceId, SOURCE)).map((p) => [p.external_id, p.user_id]));
      for (const person of snapshot.people) {
        const userId = synced.get(person.externalId);
        const r = userId ? ({ userId, kind: 'existing' } as const) : await this.people.resolve(this.deps.store.read, counts, person);
        if (!r) continue;
        resolved.push([person, r]);
        shared.userIdByDn!.set(normalizeDn(person.dn), r.userId);
      }

      const seen = new Set<string>();
      for (let i = 0; i < resolved.length; i += BATCH) {
        const batch = resolved.slice(i, i + BATCH);
        const applied = await this.step(counts, async (tx) => {
          const ctx = await this.context(tx, workspaceId, shared, batch.map(([, r]) => r.userId));
          const ids: string[] = [];
          for (const [person, r] of batch) {
            const userId = await this.people.apply(tx, ctx, person, r);
            if (userId) ids.push(userId);
          }
          return { ctx, result: ids };
        });
        for (const id of applied) seen.add(id);
      }

      await this.step(counts, async (tx) => {
        const ctx = await this.context(tx, workspaceId, shared);
        for (const profile of await tx.directory.sourceProfiles(workspaceId, SOURCE)) {
          if (seen.has(profile.user_id) || profile.deactivated_at !== null) continue;
          await this.people.deactivate(tx, ctx, profile, 'removed');
        }
        const all = mergeCounts(structuredClone(counts), ctx.counts);
        await this.accounts.audit(tx, { workspaceId, actorId, action: 'directory.synced', details: { trigger, ...summary(all) } });
        return { ctx, result: undefined };
      });
      const result: DirectorySyncResult = { trigger, startedAt, finishedAt: this.deps.now(), ...counts };
      await this.finish(workspaceId, result);
      return result;
    } catch (err) {
      const reason = err instanceof SotongError ? err.message : 'internal error';
      await this.deps.queue.run(async (tx) => {
        await this.accounts.audit(tx, { workspaceId, actorId, action: 'directory.sync_failed', details: { trigger, reason } });
        await tx.directory.finishSync(workspaceId, SOURCE, this.deps.now(), JSON.stringify({ trigger, startedAt, error: reason }));
        return { result: undefined };
      });
      throw err;
    }
  }

  /** One transaction of a sync: its changes are published after commit, its counts added to the total. */
  private async step<T>(total: Counts, work: (tx: Store) => Promise<{ ctx: Context; result: T }>): Promise<T> {
    const { result, counts } = await this.deps.queue.run(async (tx) => {
      const done = await work(tx);
      return { result: { result: done.result, counts: done.ctx.counts }, publish: [...done.ctx.publish, ...published(done.ctx.events)] };
    });
    mergeCounts(total, counts);
    return result;
  }

  /**
   * Brings one person in (or up to date) at sign-in, inside the caller's transaction: a person the
   * directory knows may sign in before the first sync. Returns the user id, or null if skipped.
   */
  async applyOne(tx: Store, workspaceId: string, person: DirectoryPerson): Promise<{ userId: string | null; publish: BusMessage[] }> {
    const ctx = await this.context(tx, workspaceId, { ...(await this.shared(tx, workspaceId)), userIdByDn: null });
    const r = await this.people.resolve(tx, ctx.counts, person);
    const userId = r ? await this.people.apply(tx, ctx, person, r) : null;
    return { userId, publish: [...ctx.publish, ...published(ctx.events)] };
  }

  private async finish(workspaceId: string, result: DirectorySyncResult): Promise<void> {
    await this.deps.queue.run(async (tx) => {
      await tx.directory.finishSync(workspaceId, SOURCE, result.finishedAt, JSON.stringify(result));
      return { result: undefined };
    });
  }

  /** The department tree and groups as the store has them. */
  private async shared(store: Store, workspaceId: string): Promise<Shared> {
    const departments = (await store.directory.departments(workspaceId)).filter((d) => d.source === SOURCE && d.external_id !== null);
    const groups = await store.directory.groups(workspaceId, SOURCE);
    return {
      departmentByDn: new Map(departments.map((d) => [d.external_id!, d.id])),
      groupIdByDn: new Map(groups.map((g) => [g.external_id, g.id])),
      groupDnById: new Map(groups.map((g) => [g.id, g.external_id])),
      userIdByDn: new Map(),
    };
  }

  private async context(tx: Store, workspaceId: string, shared: Shared, userIds: string[] = []): Promise<Context> {
    const [loaded, memberships] = await Promise.all([tx.directory.peopleByIds(workspaceId, userIds), tx.directory.groupMemberships(userIds)]);
    return {
      ...shared,
      // Copies: a transaction that runs again must not see what its first run changed.
      departmentByDn: new Map(shared.departmentByDn),
      groupIdByDn: new Map(shared.groupIdByDn),
      groupDnById: new Map(shared.groupDnById),
      workspaceId,
      now: this.deps.now(),
      loaded: new Map(loaded.map((p) => [p.id, p])),
      memberships,
      channels: new Map(),
      counts: emptyCounts(),
      publish: [],
      events: [],
    };
  }
}
