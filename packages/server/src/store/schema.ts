import type { Generated, Insertable, Selectable } from 'kysely';

/** The database schema as a type: a wrong column name is a compile error. Times are epoch milliseconds. */
export interface Database {
  workspaces: { id: string; name: string; created_at: number; mfa_required: number; device_approval_required: Generated<number> };
  users: {
    id: string;
    email: string;
    display_name: string;
    password_hash: string | null;
    created_at: number;
    deactivated_at: number | null;
  };
  workspace_members: { workspace_id: string; user_id: string; role: string; joined_at: number };
  /** Short-lived access tokens, each bound to the device it was issued to. */
  auth_sessions: { token_hash: string; user_id: string; created_at: number; expires_at: number; device_id: string | null };
  /** Enrolled devices: the public half of each device key, and the hash of its long-lived credential. */
  devices: {
    id: string;
    user_id: string;
    workspace_id: string;
    name: string;
    platform: string;
    public_key: string;
    credential_hash: string;
    credential_expires_at: number;
    /** pending | active | revoked */
    status: string;
    first_seen_at: number;
    last_seen_at: number;
    approved_by: string | null;
    revoked_at: number | null;
  };
  channels: {
    id: string;
    workspace_id: string;
    kind: string;
    name: string;
    topic: string;
    purpose: string;
    created_by: string;
    created_at: number;
    archived_at: number | null;
    last_seq: number;
    member_count: number;
    /** Sorted member ids of a 1:1 DM, so there is one DM per pair. */
    dm_key: string | null;
    /** Set when the channel was deleted: it is then unreachable, its content and files released. */
    deleted_at: number | null;
  };
  channel_members: { channel_id: string; user_id: string; role: string; joined_at: number; last_read_seq: number };
  events: {
    channel_id: string;
    seq: number;
    type: string;
    actor_id: string;
    created_at: number;
    message_id: string | null;
    /** JSON of the event's non-content fields; message content lives only in `messages`. */
    payload: string;
  };
  messages: {
    pk: Generated<number>;
    id: string;
    channel_id: string;
    seq: number;
    sender_id: string;
    client_msg_id: string;
    thread_root_id: string | null;
    content_format: string;
    content: Uint8Array;
    created_at: number;
    edited_at: number | null;
    deleted_at: number | null;
    pinned_at: number | null;
    reply_count: number;
    last_reply_at: number | null;
    mentions_channel: number;
    has_file: number;
    has_link: number;
  };
  message_edits: { message_id: string; edited_at: number; content_format: string; content: Uint8Array };
  reactions: { message_id: string; emoji: string; user_id: string; created_at: number };
  mentions: { message_id: string; channel_id: string; seq: number; user_id: string };
  files: {
    id: string;
    workspace_id: string;
    uploader_id: string;
    channel_id: string;
    message_id: string | null;
    sha256: string;
    size: number;
    name: string;
    mime: string;
    created_at: number;
    width: number | null;
    height: number | null;
    duration_ms: number | null;
    /** A small image of the file (thumbnail, first page, poster frame), once the worker made one. */
    preview_sha256: string | null;
    preview_size: number | null;
    deleted_at: number | null;
  };
  /** Append-only: rows are inserted, never updated or deleted. */
  audit_events: {
    id: Generated<number>;
    at: number;
    workspace_id: string | null;
    actor_id: string | null;
    action: string;
    target: string | null;
    address: string | null;
    details: string;
  };
  /** Failed sign-ins per account (`account:<email>`) and per source address (`address:<ip>`). */
  login_failures: { key: string; failures: number; first_at: number; locked_until: number | null };
  /** A TOTP secret; `enabled_at` is set once a code from it was confirmed. `last_step` refuses replays. */
  user_totp: { user_id: string; secret: string; enabled_at: number | null; last_step: number };
  recovery_codes: { user_id: string; code_hash: string; used_at: number | null };
  /** Between a correct password and the second factor. Only the hash of the challenge is kept. */
  login_challenges: { token_hash: string; user_id: string; purpose: string; expires_at: number; failures: number };
  /** Profile and organisation data of a person (directory sync, SSO). `source` + `external_id` identify the directory entry. */
  user_profiles: {
    user_id: string;
    title: string | null;
    phone: string | null;
    employee_number: string | null;
    department_id: string | null;
    manager_id: string | null;
    /** `ldap` (and later `saml`); null: a local account with a hand-made profile. */
    source: string | null;
    /** Stable id of the entry (entryUUID, objectGUID as hex); survives renames and moves. */
    external_id: string | null;
    external_dn: string | null;
    /** Lower-cased sign-in name in the directory (uid, sAMAccountName). */
    login_name: string | null;
    /** Set when the source deactivated the account (left or disabled), so only the source brings it back. */
    source_deactivated_at: number | null;
    updated_at: number;
  };
  /** The department tree of a workspace; `external_id` is the source's id (an OU's DN for LDAP). */
  departments: { id: string; workspace_id: string; parent_id: string | null; name: string; source: string | null; external_id: string | null; created_at: number };
  directory_groups: { id: string; workspace_id: string; source: string; external_id: string; name: string };
  directory_group_members: { group_id: string; user_id: string };
  directory_sync: { workspace_id: string; source: string; lease_until: number; started_at: number | null; finished_at: number | null; result: string | null };
  /** Who an IdP's NameID is, and the attributes it last asserted (JSON of the mapped values). */
  sso_identities: {
    issuer: string;
    name_id: string;
    user_id: string;
    name_id_format: string | null;
    session_index: string | null;
    attributes: string;
    first_seen_at: number;
    last_seen_at: number;
  };
  /** SAML ids with an expiry: AuthnRequest ids awaiting an answer (`request:`), assertion ids seen (`assertion:`). */
  saml_cache: { key: string; value: string; expires_at: number };
  /** Request-proof nonces seen by any node, until their proof would be refused as expired anyway. */
  proof_nonces: { key: string; expires_at: number };
  /** MQTT sessions with clean start off, between connections: subscriptions and cursors as JSON. */
  mqtt_sessions: { user_id: string; client_id: string; state: string; expires_at: number };
  /** One-time codes from the ACS redirect, exchanged for a session. Only the hash is kept. */
  sso_codes: { code_hash: string; user_id: string; expires_at: number; details: string };
  /** WebAuthn credentials. `id` is the credential id (base64url); `counter` the last sign count seen. */
  passkeys: {
    id: string;
    user_id: string;
    public_key: string;
    counter: number;
    transports: string;
    name: string;
    device_type: string;
    backed_up: number;
    created_at: number;
    last_used_at: number | null;
  };
  /** One registration or sign-in ceremony: the challenge the authenticator must sign, used once. */
  webauthn_ceremonies: {
    token_hash: string;
    user_id: string | null;
    purpose: string;
    challenge: string;
    expires_at: number;
    /** For a second factor: the password step's challenge this ceremony finishes. */
    login_challenge_hash: string | null;
  };
  /** Holders of the server-wide operator role (docs/identity.md, "Permissions"). `granted_by` is null for the first-run admin and the CLI. */
  system_admins: { user_id: string; granted_at: number; granted_by: string | null };
  /** A person's desktop notification level (`all` | `mentions` | `none`); no row: `mentions`. */
  notification_prefs: { user_id: string; desktop: string; updated_at: number };
  /** Channels a person muted. */
  channel_mutes: { user_id: string; channel_id: string; muted_at: number };
  /** Data keys wrapped by the CMK; `scope` is `channel:<id>` or `workspace:<id>` (the search index key). */
  data_keys: {
    id: string;
    workspace_id: string;
    scope: string;
    version: number;
    cmk_id: string;
    wrapped: Uint8Array;
    created_at: number;
    expires_at: number | null;
    retired_at: number | null;
    uses: number;
  };
  /** SQLite only: the FTS5 index, row id = messages.pk. */
  message_search: { rowid: number; tokens: string };
  search_pending: { message_pk: number; tokens: string };
}

export type UserRow = Selectable<Database['users']>;
export type ChannelRow = Selectable<Database['channels']>;
export type MemberRow = Selectable<Database['channel_members']>;
export type MessageRow = Selectable<Database['messages']>;
export type EventRow = Selectable<Database['events']>;
export type FileRow = Selectable<Database['files']>;
export type NewMessage = Insertable<Database['messages']>;
export type ProfileRow = Selectable<Database['user_profiles']>;
export type DepartmentRow = Selectable<Database['departments']>;
export type DirectoryGroupRow = Selectable<Database['directory_groups']>;
export type DataKeyRow = Selectable<Database['data_keys']>;
export type DeviceRow = Selectable<Database['devices']>;
export type PasskeyRow = Selectable<Database['passkeys']>;
export type AuditRow = Selectable<Database['audit_events']>;
export type NewAuditRow = Insertable<Database['audit_events']>;
