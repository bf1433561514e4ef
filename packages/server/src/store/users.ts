import type { Kysely } from 'kysely';
import type { Database, UserRow } from './schema.js';

export class UserStore {
  constructor(private readonly db: Kysely<Database>) {}

  async createWorkspace(id: string, name: string, now: number): Promise<void> {
    await this.db.insertInto('workspaces').values({ id, name, created_at: now, mfa_required: 0 }).execute();
  }

  async firstWorkspace(): Promise<{ id: string; name: string } | undefined> {
    return this.db.selectFrom('workspaces').select(['id', 'name']).orderBy('created_at').limit(1).executeTakeFirst();
  }

  async renameWorkspace(id: string, name: string): Promise<void> {
    await this.db.updateTable('workspaces').set({ name }).where('id', '=', id).execute();
  }

  /** The workspace's owner (the first-run admin). */
  async ownerOf(workspaceId: string): Promise<UserRow | undefined> {
    return this.db
      .selectFrom('users')
      .innerJoin('workspace_members as wm', 'wm.user_id', 'users.id')
      .selectAll('users')
      .where('wm.workspace_id', '=', workspaceId)
      .where('wm.role', '=', 'owner')
      .orderBy('wm.joined_at')
      .limit(1)
      .executeTakeFirst();
  }

  async setDisplayName(userId: string, displayName: string): Promise<void> {
    await this.db.updateTable('users').set({ display_name: displayName }).where('id', '=', userId).execute();
  }

  async create(user: UserRow): Promise<void> {
    await this.db.insertInto('users').values(user).execute();
  }

  async byId(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async byEmail(email: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('email', '=', email.toLowerCase()).executeTakeFirst();
  }

  async setPasswordHash(userId: string, hash: string): Promise<void> {
    await this.db.updateTable('users').set({ password_hash: hash }).where('id', '=', userId).execute();
  }

  async addToWorkspace(workspaceId: string, userId: string, role: string, now: number): Promise<void> {
    await this.db
      .insertInto('workspace_members')
      .values({ workspace_id: workspaceId, user_id: userId, role, joined_at: now })
      .execute();
  }

  /** The user's workspace memberships, oldest first. */
  async workspacesOf(userId: string): Promise<{ workspace_id: string; role: string }[]> {
    return this.db
      .selectFrom('workspace_members')
      .select(['workspace_id', 'role'])
      .where('user_id', '=', userId)
      .orderBy('joined_at')
      .execute();
  }

  async workspaceRole(workspaceId: string, userId: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('workspace_members')
      .select('role')
      .where('workspace_id', '=', workspaceId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row?.role;
  }

  async listInWorkspace(workspaceId: string, limit: number): Promise<(UserRow & { role: string })[]> {
    return this.db
      .selectFrom('users')
      .innerJoin('workspace_members as wm', 'wm.user_id', 'users.id')
      .selectAll('users')
      .select('wm.role')
      .where('wm.workspace_id', '=', workspaceId)
      .orderBy('users.display_name')
      .limit(limit)
      .execute();
  }

  async deleteSession(tokenHash: string): Promise<void> {
    await this.db.deleteFrom('auth_sessions').where('token_hash', '=', tokenHash).execute();
  }

  async deleteSessionsOf(userId: string): Promise<void> {
    await this.db.deleteFrom('auth_sessions').where('user_id', '=', userId).execute();
  }

  async workspaceMfaRequired(workspaceId: string): Promise<boolean> {
    const row = await this.db.selectFrom('workspaces').select('mfa_required').where('id', '=', workspaceId).executeTakeFirst();
    return Number(row?.mfa_required ?? 0) === 1;
  }

  async setWorkspaceMfaRequired(workspaceId: string, required: boolean): Promise<void> {
    await this.db.updateTable('workspaces').set({ mfa_required: required ? 1 : 0 }).where('id', '=', workspaceId).execute();
  }

  async deactivate(userId: string, at: number): Promise<void> {
    await this.db.updateTable('users').set({ deactivated_at: at }).where('id', '=', userId).execute();
  }

  async setRole(workspaceId: string, userId: string, role: string): Promise<void> {
    await this.db.updateTable('workspace_members').set({ role }).where('workspace_id', '=', workspaceId).where('user_id', '=', userId).execute();
  }
}
