import { SotongError, type DirectoryStatus, type DirectorySyncResult } from '@sotong/protocol';
import type { LdapDirectory } from '../directory/ldap.js';
import type { Logger } from '../logger.js';
import type { UserRow } from '../store/schema.js';
import type { ServiceDeps } from './context.js';
import { SOURCE } from './directory-context.js';
import type { DirectorySync } from './directory-sync.js';
import { assertCan, type Actor } from './permissions.js';

/** What a password check found: the account (if any), whether the password was right, and why not. */
export interface PasswordCheck {
  user: UserRow | undefined;
  ok: boolean;
  /** The failure reason for the audit log, when the directory gave one. */
  reason?: string;
  source?: string;
  /** The workspace the directory belongs to, for the audit entry of a person not (yet) in it. */
  workspaceId?: string;
}

/** What sign-in asks of a directory. */
export interface DirectoryLogin {
  /** True if the account is the directory's: its password is checked there, not here. */
  owns(userId: string): Promise<boolean>;
  verify(identifier: string, password: string, known: UserRow | undefined): Promise<PasswordCheck>;
  workspaceId(): Promise<string>;
}

/** The configured directory for an admin's request; refused first by permission, then if none is configured. */
export function configuredDirectory(directory: DirectoryService | undefined, actor: Actor): DirectoryService {
  assertCan(actor, 'directory.sync', { kind: 'workspace', workspaceId: actor.workspaceId });
  if (!directory) throw new SotongError('not_found', 'no directory is configured (SOTONG_LDAP_URL)');
  return directory;
}

/**
 * The LDAP / Active Directory connection of a workspace: sign-in by bind for its people, and the
 * directory sync, on a schedule and on demand.
 */
export class DirectoryService implements DirectoryLogin {
  private timer: NodeJS.Timeout | undefined;
  private scheduled: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly deps: ServiceDeps,
    private readonly directory: LdapDirectory,
    private readonly sync: DirectorySync,
    private readonly intervalSeconds: number,
  ) {}

  async owns(userId: string): Promise<boolean> {
    return (await this.deps.store.read.directory.profile(userId))?.source === SOURCE;
  }

  /**
   * Finds the person by sign-in name, alternative name or email, refuses a disabled account (and
   * deactivates it here too), binds as them with the password, and on success brings their entry in.
   */
  async verify(identifier: string, password: string, known: UserRow | undefined): Promise<PasswordCheck> {
    const workspaceId = await this.workspaceId();
    const person = await this.directory.findPerson(identifier);
    if (!person) return { user: known, ok: false, reason: 'ldap_unknown_user', source: SOURCE, workspaceId };
    const bringIn = () =>
      this.deps.queue.run(async (tx) => {
        const { userId, publish } = await this.sync.applyOne(tx, workspaceId, person);
        return { result: userId, publish };
      });
    if (person.disabled) {
      const userId = await bringIn();
      return { user: userId ? await this.deps.store.read.users.byId(userId) : known, ok: false, reason: 'ldap_disabled', source: SOURCE, workspaceId };
    }
    if (!(await this.directory.checkPassword(person.dn, password))) {
      const synced = await this.deps.store.read.directory.userByExternalId(SOURCE, person.externalId);
      return { user: synced ? await this.deps.store.read.users.byId(synced) : known, ok: false, reason: 'ldap_wrong_password', source: SOURCE, workspaceId };
    }
    const userId = await bringIn();
    if (!userId) return { user: known, ok: false, reason: 'ldap_not_provisioned', source: SOURCE, workspaceId };
    return { user: await this.deps.store.read.users.byId(userId), ok: true, source: SOURCE, workspaceId };
  }

  /** The directory feeds one workspace; only its admins may sync it. */
  async syncNow(actor: Actor): Promise<DirectorySyncResult> {
    const workspaceId = await this.workspaceId();
    assertCan(actor, 'directory.sync', { kind: 'workspace', workspaceId });
    return this.sync.run(workspaceId, 'manual', actor.userId);
  }

  async status(actor: Actor): Promise<DirectoryStatus> {
    const workspaceId = await this.workspaceId();
    assertCan(actor, 'directory.sync', { kind: 'workspace', workspaceId });
    const row = await this.deps.store.read.directory.syncState(workspaceId, SOURCE);
    return {
      enabled: true,
      intervalSeconds: this.intervalSeconds,
      lastStartedAt: row?.started_at === null || row === undefined ? null : Number(row.started_at),
      lastFinishedAt: row?.finished_at === null || row === undefined ? null : Number(row.finished_at),
      running: row !== undefined && Number(row.lease_until) > this.deps.now(),
      last: row?.result ? (JSON.parse(row.result) as DirectoryStatus['last']) : null,
    };
  }

  /** Runs the sync at start and then every `intervalSeconds` (0: never). A node that finds another node syncing skips its turn. */
  startSchedule(log: Logger): void {
    if (this.intervalSeconds === 0) return;
    const tick = () => {
      this.scheduled = this.workspaceId()
        .then((workspaceId) => this.sync.run(workspaceId, 'scheduled', null))
        .then(
          (result) => log.info({ directorySync: { ...result, skipped: result.skipped.length } }, 'directory sync done'),
          (err: unknown) =>
            err instanceof SotongError && err.code === 'conflict'
              ? log.debug('directory sync already running elsewhere')
              : log.warn({ reason: err instanceof Error ? err.message : String(err) }, 'directory sync failed'),
        )
        .finally(() => {
          if (this.timer) this.timer = setTimeout(tick, this.intervalSeconds * 1000);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stopSchedule(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.scheduled.catch(() => {});
  }

  async workspaceId(): Promise<string> {
    const ws = await this.deps.store.read.users.firstWorkspace();
    if (!ws) throw new SotongError('not_found', 'no workspace yet');
    return ws.id;
  }
}
