import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

export type Dialect = 'sqlite' | 'postgres';

/**
 * Migrations are written once with Kysely's schema builder; only the search index, the
 * auto-increment key, the byte type and SQLite's `without rowid` differ per dialect.
 */
export function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    '001_core': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('workspaces')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('users')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('email', 'text', (c) => c.notNull().unique())
          .addColumn('display_name', 'text', (c) => c.notNull())
          .addColumn('password_hash', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('deactivated_at', 'bigint')
          .execute();
        await db.schema
          .createTable('workspace_members')
          .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('joined_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('workspace_members_pk', ['workspace_id', 'user_id'])
          .execute();
        await db.schema.createIndex('workspace_members_user').on('workspace_members').column('user_id').execute();
        await db.schema
          .createTable('auth_sessions')
          .addColumn('token_hash', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('auth_sessions_user').on('auth_sessions').column('user_id').execute();
        await db.schema
          .createTable('channels')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('topic', 'text', (c) => c.notNull())
          .addColumn('purpose', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('archived_at', 'bigint')
          .addColumn('last_seq', 'bigint', (c) => c.notNull())
          .addColumn('member_count', 'integer', (c) => c.notNull())
          .addColumn('dm_key', 'text', (c) => c.unique())
          .execute();
        await db.schema
          .createIndex('channels_name')
          .on('channels')
          .columns(['workspace_id', 'name'])
          .unique()
          .where(sql.ref('kind'), 'in', ['public', 'private'])
          .execute();
        await db.schema
          .createTable('channel_members')
          .addColumn('channel_id', 'text', (c) => c.notNull().references('channels.id'))
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('joined_at', 'bigint', (c) => c.notNull())
          .addColumn('last_read_seq', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('channel_members_pk', ['channel_id', 'user_id'])
          .execute();
        await db.schema.createIndex('channel_members_user').on('channel_members').column('user_id').execute();
        await db.schema
          .createTable('events')
          .addColumn('channel_id', 'text', (c) => c.notNull())
          .addColumn('seq', 'bigint', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('actor_id', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('message_id', 'text')
          .addColumn('payload', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('events_pk', ['channel_id', 'seq'])
          // The log is read and written by its key only: on SQLite, store it in the key's b-tree.
          .$call((t) => (dialect === 'sqlite' ? t.modifyEnd(sql`without rowid`) : t))
          .execute();
        await db.schema
          .createTable('messages')
          .addColumn('pk', dialect === 'sqlite' ? 'integer' : 'bigserial', (c) =>
            dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey(),
          )
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('channel_id', 'text', (c) => c.notNull())
          .addColumn('seq', 'bigint', (c) => c.notNull())
          .addColumn('sender_id', 'text', (c) => c.notNull())
          .addColumn('client_msg_id', 'text', (c) => c.notNull())
          .addColumn('thread_root_id', 'text')
          .addColumn('content_format', 'text', (c) => c.notNull())
          .addColumn('content', dialect === 'sqlite' ? 'blob' : 'bytea', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('edited_at', 'bigint')
          .addColumn('deleted_at', 'bigint')
          .addColumn('pinned_at', 'bigint')
          .addColumn('reply_count', 'integer', (c) => c.notNull())
          .addColumn('last_reply_at', 'bigint')
          .addColumn('mentions_channel', 'integer', (c) => c.notNull())
          .addColumn('has_file', 'integer', (c) => c.notNull())
          .addColumn('has_link', 'integer', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('messages_dedupe')
          .on('messages')
          .columns(['channel_id', 'sender_id', 'client_msg_id'])
          .unique()
          .execute();
        await db.schema.createIndex('messages_channel_seq').on('messages').columns(['channel_id', 'seq']).execute();
        await db.schema
          .createIndex('messages_thread')
          .on('messages')
          .columns(['thread_root_id', 'seq'])
          .where(sql.ref('thread_root_id'), 'is not', null)
          .execute();
        await db.schema
          .createTable('message_edits')
          .addColumn('message_id', 'text', (c) => c.notNull())
          .addColumn('edited_at', 'bigint', (c) => c.notNull())
          .addColumn('content_format', 'text', (c) => c.notNull())
          .addColumn('content', dialect === 'sqlite' ? 'blob' : 'bytea', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('message_edits_message').on('message_edits').column('message_id').execute();
        await db.schema
          .createTable('reactions')
          .addColumn('message_id', 'text', (c) => c.notNull())
          .addColumn('emoji', 'text', (c) => c.notNull())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('reactions_pk', ['message_id', 'emoji', 'user_id'])
          .execute();
        await db.schema
          .createTable('mentions')
          .addColumn('message_id', 'text', (c) => c.notNull())
          .addColumn('channel_id', 'text', (c) => c.notNull())
          .addColumn('seq', 'bigint', (c) => c.notNull())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('mentions_pk', ['message_id', 'user_id'])
          .execute();
        await db.schema.createIndex('mentions_user').on('mentions').columns(['user_id', 'channel_id', 'seq']).execute();
        if (dialect === 'sqlite') {
          // Tokens come from our own tokenizer (words + Hangul/CJK bigrams), already normalised;
          // unicode61 only splits them on the spaces we put between them.
          await sql`CREATE VIRTUAL TABLE message_search USING fts5(tokens, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 0')`.execute(db);
        } else {
          // The same tokens as one tsvector per message ('simple': no stemming, no stop words), so
          // phrases match as on SQLite; the GIN index serves `@@` (see postgres-search.ts).
          await db.schema
            .createTable('message_search')
            .addColumn('message_pk', 'bigint', (c) => c.primaryKey())
            .addColumn('tsv', sql`tsvector`, (c) => c.notNull())
            .execute();
          // fastupdate off: no pending list that every search would have to scan linearly until
          // a vacuum merges it; the insert cost of a chat-sized tsvector did not measurably change.
          await sql`CREATE INDEX message_search_tsv ON message_search USING gin (tsv) WITH (fastupdate = off)`.execute(db);
        }
      },
    },
    '002_files': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('files')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('workspace_id', 'text', (c) => c.notNull())
          .addColumn('uploader_id', 'text', (c) => c.notNull())
          .addColumn('channel_id', 'text', (c) => c.notNull())
          // Set once, when a message carries the file; never moved to another message.
          .addColumn('message_id', 'text')
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('mime', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('width', 'integer')
          .addColumn('height', 'integer')
          .addColumn('duration_ms', 'bigint')
          .addColumn('preview_sha256', 'text')
          .addColumn('preview_size', 'bigint')
          .addColumn('deleted_at', 'bigint')
          .execute();
        await db.schema.createIndex('files_message').on('files').column('message_id').where(sql.ref('message_id'), 'is not', null).execute();
        await db.schema.createIndex('files_uploader').on('files').column('uploader_id').execute();
        await db.schema.createIndex('files_workspace').on('files').column('workspace_id').execute();
        await db.schema.createIndex('files_sha256').on('files').column('sha256').execute();
        await db.schema.createIndex('files_preview').on('files').column('preview_sha256').where(sql.ref('preview_sha256'), 'is not', null).execute();
      },
    },
    '002_account_security': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('audit_events')
          .addColumn('id', dialect === 'sqlite' ? 'integer' : 'bigserial', (c) => (dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey()))
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('workspace_id', 'text')
          .addColumn('actor_id', 'text')
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('target', 'text')
          .addColumn('address', 'text')
          .addColumn('details', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('audit_events_workspace').on('audit_events').columns(['workspace_id', 'id']).execute();
        await db.schema
          .createTable('login_failures')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('failures', 'integer', (c) => c.notNull())
          .addColumn('first_at', 'bigint', (c) => c.notNull())
          .addColumn('locked_until', 'bigint')
          .execute();
      },
    },
    '003_mfa': {
      async up(db: Kysely<any>) {
        await db.schema.alterTable('workspaces').addColumn('mfa_required', 'integer', (c) => c.notNull().defaultTo(0)).execute();
        await db.schema
          .createTable('user_totp')
          .addColumn('user_id', 'text', (c) => c.primaryKey())
          .addColumn('secret', 'text', (c) => c.notNull())
          .addColumn('enabled_at', 'bigint')
          .addColumn('last_step', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('recovery_codes')
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('code_hash', 'text', (c) => c.notNull())
          .addColumn('used_at', 'bigint')
          .addPrimaryKeyConstraint('recovery_codes_pk', ['user_id', 'code_hash'])
          .execute();
        await db.schema
          .createTable('login_challenges')
          .addColumn('token_hash', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('purpose', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('failures', 'integer', (c) => c.notNull())
          .execute();
      },
    },
    '003b_search_pending': {
      async up(db: Kysely<any>) {
        // SQLite: messages wait here, in their own transaction, for the search indexer to move
        // them into FTS5 in large batches (see store/sqlite-search.ts).
        if (dialect !== 'sqlite') return;
        await db.schema
          .createTable('search_pending')
          .addColumn('message_pk', 'integer', (c) => c.primaryKey())
          .addColumn('tokens', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '004_directory': {
      async up(db: Kysely<any>) {
        // Profile and organisation data. Filled by directory sync (LDAP) and, later, SSO; kept apart
        // from `users` so sign-in rows stay small and the sources own their columns.
        await db.schema
          .createTable('user_profiles')
          .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id'))
          .addColumn('title', 'text')
          .addColumn('phone', 'text')
          .addColumn('employee_number', 'text')
          .addColumn('department_id', 'text')
          .addColumn('manager_id', 'text')
          .addColumn('source', 'text')
          .addColumn('external_id', 'text')
          .addColumn('external_dn', 'text')
          .addColumn('login_name', 'text')
          .addColumn('source_deactivated_at', 'bigint')
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('user_profiles_external').on('user_profiles').columns(['source', 'external_id']).unique().execute();
        await db.schema.createIndex('user_profiles_login').on('user_profiles').column('login_name').execute();
        await db.schema.createIndex('user_profiles_department').on('user_profiles').column('department_id').execute();
        await db.schema.createIndex('user_profiles_manager').on('user_profiles').column('manager_id').execute();
        await db.schema
          .createTable('departments')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
          .addColumn('parent_id', 'text')
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('source', 'text')
          .addColumn('external_id', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('departments_parent').on('departments').columns(['workspace_id', 'parent_id']).execute();
        await db.schema.createIndex('departments_external').on('departments').columns(['workspace_id', 'source', 'external_id']).unique().execute();
        await db.schema
          .createTable('directory_groups')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id'))
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('external_id', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('directory_groups_external').on('directory_groups').columns(['workspace_id', 'source', 'external_id']).unique().execute();
        await db.schema
          .createTable('directory_group_members')
          .addColumn('group_id', 'text', (c) => c.notNull())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('directory_group_members_pk', ['group_id', 'user_id'])
          .execute();
        await db.schema.createIndex('directory_group_members_user').on('directory_group_members').column('user_id').execute();
        /** One row per workspace and source: the lease that keeps two nodes from syncing at once, and the last outcome. */
        await db.schema
          .createTable('directory_sync')
          .addColumn('workspace_id', 'text', (c) => c.notNull())
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('lease_until', 'bigint', (c) => c.notNull())
          .addColumn('started_at', 'bigint')
          .addColumn('finished_at', 'bigint')
          .addColumn('result', 'text')
          .addPrimaryKeyConstraint('directory_sync_pk', ['workspace_id', 'source'])
          .execute();
      },
    },
    '005_devices': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('devices')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
          .addColumn('workspace_id', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('platform', 'text', (c) => c.notNull())
          .addColumn('public_key', 'text', (c) => c.notNull())
          .addColumn('credential_hash', 'text', (c) => c.notNull())
          .addColumn('credential_expires_at', 'bigint', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('first_seen_at', 'bigint', (c) => c.notNull())
          .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
          .addColumn('approved_by', 'text')
          .addColumn('revoked_at', 'bigint')
          .execute();
        await db.schema.createIndex('devices_user_key').on('devices').columns(['user_id', 'public_key']).unique().execute();
        await db.schema.createIndex('devices_credential').on('devices').column('credential_hash').unique().execute();
        // Tokens from before devices are bound to none: they stop working, and their owners sign in again.
        await db.deleteFrom('auth_sessions').execute();
        await db.schema.alterTable('auth_sessions').addColumn('device_id', 'text').execute();
        await db.schema.createIndex('auth_sessions_device').on('auth_sessions').column('device_id').execute();
        await db.schema.alterTable('workspaces').addColumn('device_approval_required', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      },
    },
    '006_saml': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('sso_identities')
          .addColumn('issuer', 'text', (c) => c.notNull())
          .addColumn('name_id', 'text', (c) => c.notNull())
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
          .addColumn('name_id_format', 'text')
          .addColumn('session_index', 'text')
          .addColumn('attributes', 'text', (c) => c.notNull())
          .addColumn('first_seen_at', 'bigint', (c) => c.notNull())
          .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('sso_identities_pk', ['issuer', 'name_id'])
          .execute();
        await db.schema.createIndex('sso_identities_user').on('sso_identities').column('user_id').execute();
        await db.schema
          .createTable('saml_cache')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('saml_cache_expiry').on('saml_cache').column('expires_at').execute();
        await db.schema
          .createTable('sso_codes')
          .addColumn('code_hash', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('details', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '007_files_lifecycle': {
      async up(db: Kysely<any>) {
        await db.schema.alterTable('channels').addColumn('deleted_at', 'bigint').execute();
        // The sweeper looks for files never sent, oldest first.
        await db.schema.createIndex('files_unsent').on('files').column('created_at').where(sql.ref('message_id'), 'is', null).execute();
      },
    },
    '008_passkeys': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('passkeys')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('public_key', 'text', (c) => c.notNull())
          .addColumn('counter', 'bigint', (c) => c.notNull())
          .addColumn('transports', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('device_type', 'text', (c) => c.notNull())
          .addColumn('backed_up', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('last_used_at', 'bigint')
          .execute();
        await db.schema.createIndex('passkeys_user').on('passkeys').column('user_id').execute();
        await db.schema
          .createTable('webauthn_ceremonies')
          .addColumn('token_hash', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text')
          .addColumn('purpose', 'text', (c) => c.notNull())
          .addColumn('challenge', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('login_challenge_hash', 'text')
          .execute();
      },
    },
    '009_data_keys': {
      async up(db: Kysely<any>) {
        // Data keys, only ever wrapped by the CMK (see docs/encryption.md). `scope` is
        // `channel:<id>` (content keys, one version per lifetime) or `workspace:<id>` (the search
        // index key); `version` numbers a scope's keys.
        await db.schema
          .createTable('data_keys')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('workspace_id', 'text', (c) => c.notNull())
          .addColumn('scope', 'text', (c) => c.notNull())
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('cmk_id', 'text', (c) => c.notNull())
          .addColumn('wrapped', dialect === 'sqlite' ? 'blob' : 'bytea', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint')
          .addColumn('retired_at', 'bigint')
          .addColumn('uses', 'bigint', (c) => c.notNull().defaultTo(0))
          .addUniqueConstraint('data_keys_scope_version', ['scope', 'version'])
          .execute();
        await db.schema.createIndex('data_keys_cmk').on('data_keys').columns(['cmk_id', 'id']).execute();
        await db.schema.createIndex('data_keys_workspace').on('data_keys').column('workspace_id').execute();
      },
    },
    '011_rbac': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('system_admins')
          .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id'))
          .addColumn('granted_at', 'bigint', (c) => c.notNull())
          .addColumn('granted_by', 'text')
          .execute();
        // An existing deployment keeps an operator: the owner of its first workspace (the first-run admin).
        const first = await db.selectFrom('workspaces').select('id').orderBy('created_at').limit(1).executeTakeFirst();
        if (!first) return;
        const owners = await db.selectFrom('workspace_members').select('user_id').where('workspace_id', '=', first.id).where('role', '=', 'owner').execute();
        for (const { user_id } of owners) {
          await db.insertInto('system_admins').values({ user_id, granted_at: Date.now(), granted_by: null }).execute();
        }
      },
    },
    '012_notification_prefs': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('notification_prefs')
          .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id'))
          .addColumn('desktop', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('channel_mutes')
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
          .addColumn('channel_id', 'text', (c) => c.notNull().references('channels.id'))
          .addColumn('muted_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('channel_mutes_pk', ['user_id', 'channel_id'])
          .execute();
      },
    },
    '013_proof_nonces': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('proof_nonces')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('proof_nonces_expiry').on('proof_nonces').column('expires_at').execute();
      },
    },
    '014_mqtt_sessions': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('mqtt_sessions')
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('client_id', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('mqtt_sessions_pk', ['user_id', 'client_id'])
          .execute();
        await db.schema.createIndex('mqtt_sessions_expiry').on('mqtt_sessions').column('expires_at').execute();
      },
    },
    '015_files_by_channel': {
      async up(db: Kysely<any>) {
        // A channel's file list, newest first (file ids sort by upload time).
        await db.schema.createIndex('files_channel').on('files').columns(['channel_id', 'id']).execute();
      },
    },
  };
}
