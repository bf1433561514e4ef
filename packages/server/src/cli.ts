#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { SotongError } from '@sotong/protocol';
import { openCore, startServer } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { permissionTable } from './services/permission-matrix.js';
import { KeyAdmin } from './keys/admin.js';
import { SealExisting } from './keys/seal-existing.js';

const USAGE = `usage:
  sotong serve [--config FILE]
  sotong admin create-user --email EMAIL --name NAME [--password PW] [--role admin|member|guest]
  sotong admin reset-password --email EMAIL [--password PW]
  sotong admin grant-system-admin --email EMAIL
  sotong admin revoke-system-admin --email EMAIL
  sotong admin permissions          print the permission matrix (Markdown)
  sotong keys status
  sotong keys rotate-master [--rewrap-only]
  sotong keys rotate-channel --channel ID
  sotong keys shred (--channel ID | --workspace ID) --yes
  sotong keys seal-existing

Settings come from the environment (PORT, DATA_DIR, DATABASE_URL, LOG_LEVEL, SOTONG_*) and an
optional JSON file (--config or SOTONG_CONFIG); see docs/configuration.md.`;

/** The web app's first-run set-up screen, carrying the one-time code (in the fragment: never sent to a server or logged). */
function setupLink(url: string, code: string): string {
  return `${url.replace(/\/$/, '')}/#/setup?code=${encodeURIComponent(code)}`;
}

async function serve(configFile: string | undefined): Promise<void> {
  const config = loadConfig(process.env, configFile ?? process.env.SOTONG_CONFIG);
  const server = await startServer(config);
  if (server.firstRun) {
    const { password } = server.firstRun;
    // Shown once on the terminal, never written to the log stream.
    process.stderr.write(
      `\nSotong is ready at ${server.url}\nFirst run: workspace "${config.workspaceName}" created.\n  admin sign-in: ${config.adminEmail}\n` +
        (password
          ? `  one-time password: ${password}\n  finish setting up in the browser (name the workspace, choose your password): ${setupLink(config.publicUrl ?? server.url, password)}\n  (or change it: sotong admin reset-password --email ${config.adminEmail})\n\n`
          : `  password: the one given in SOTONG_ADMIN_PASSWORD\n\n`),
    );
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.core.log.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        server.core.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function admin(command: string | undefined, options: Record<string, string | boolean | undefined> & { config?: string; email?: string; name?: string; password?: string; role?: string }): Promise<void> {
  // The matrix is the code's, not the database's: printed without opening the store.
  if (command === 'permissions') return void process.stdout.write(`${permissionTable()}\n`);
  const core = await openCore(loadConfig(process.env, options.config ?? process.env.SOTONG_CONFIG));
  try {
    if (command === 'create-user') {
      if (!options.email || !options.name) throw new SotongError('bad_request', '--email and --name are required');
      const role = options.role as 'admin' | 'member' | 'guest' | undefined;
      const user = await core.services.accounts.createUser('system', { email: options.email, displayName: options.name, password: options.password, role });
      process.stdout.write(`created ${user.email} (${user.id}, ${user.role})\n`);
    } else if (command === 'reset-password') {
      if (!options.email) throw new SotongError('bad_request', '--email is required');
      const password = await core.services.accounts.resetPassword(options.email, options.password);
      process.stdout.write(options.password ? 'password changed; sessions ended\n' : `new password: ${password}\n`);
    } else if (command === 'grant-system-admin' || command === 'revoke-system-admin') {
      if (!options.email) throw new SotongError('bad_request', '--email is required');
      const granted = command === 'grant-system-admin';
      const { changed } = await core.services.accounts.setSystemAdmin(options.email, granted);
      const state = granted ? 'is a system admin' : 'is not a system admin';
      process.stdout.write(changed ? `${options.email} ${state} now; their sessions reconnect\n` : `${options.email} ${state} already\n`);
    } else {
      throw new SotongError('bad_request', USAGE);
    }
  } finally {
    await core.close();
  }
}

/** Key operations (docs/encryption.md): run against the store and key provider the server uses, while it runs. */
async function keys(command: string | undefined, options: { config?: string; channel?: string; workspace?: string; 'rewrap-only'?: boolean; yes?: boolean }): Promise<void> {
  const core = await openCore(loadConfig(process.env, options.config ?? process.env.SOTONG_CONFIG));
  const admin = new KeyAdmin(core.keys, core.store);
  const out = (line: string) => process.stdout.write(`${line}\n`);
  try {
    if (command === 'status') {
      const s = await admin.status();
      out(`provider: ${s.provider}\ncurrent master key: ${s.currentCmkId}\ndata keys: ${s.keys} in ${s.scopes} channels/workspaces`);
      for (const [cmk, n] of Object.entries(s.keysByCmk)) out(`  under ${cmk}: ${n}${cmk === s.currentCmkId ? ' (current)' : ''}`);
      out(`encryption at rest: ${core.config.atRest ? 'on' : 'off'}`);
    } else if (command === 'rotate-master') {
      const result = await admin.rotateMaster({
        rewrapOnly: options['rewrap-only'] === true,
        onProgress: (done, remaining) => process.stderr.write(`rewrapped ${done}, ${remaining} to go\n`),
      });
      out(`master key ${result.cmkId} is current; ${result.rewrapped} data keys rewrapped`);
    } else if (command === 'rotate-channel') {
      if (!options.channel) throw new SotongError('bad_request', '--channel is required');
      await admin.rotateChannel(options.channel);
      out(`channel ${options.channel}: its next message gets a new data key`);
    } else if (command === 'shred') {
      if (!options.channel === !options.workspace) throw new SotongError('bad_request', 'give one of --channel or --workspace');
      if (!options.yes) throw new SotongError('bad_request', 'shredding cannot be undone: add --yes');
      const destroyed = options.channel ? await admin.shredChannel(options.channel) : await admin.shredWorkspace(options.workspace!);
      out(`destroyed ${destroyed} data keys of ${options.channel ? `channel ${options.channel}` : `workspace ${options.workspace}`}`);
    } else if (command === 'seal-existing') {
      const done = await new SealExisting(core.keys, core.atRest, core.plainStore, core.blobs).run((p) =>
        process.stderr.write(`sealed ${p.messages} messages, ${p.edits} edits, ${p.blobs} blobs (${p.scanned} rows scanned in this pass)\n`),
      );
      out(`sealed ${done.messages} messages, ${done.edits} edit-history entries and ${done.blobs} file blobs; the search index holds keyed tokens only`);
    } else {
      throw new SotongError('bad_request', USAGE);
    }
  } finally {
    await core.close();
  }
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      email: { type: 'string' },
      name: { type: 'string' },
      password: { type: 'string' },
      role: { type: 'string' },
      channel: { type: 'string' },
      workspace: { type: 'string' },
      'rewrap-only': { type: 'boolean' },
      yes: { type: 'boolean' },
    },
  });
  const [command, sub] = positionals;
  if (command === 'serve') return serve(values.config);
  if (command === 'admin') return admin(sub, values);
  if (command === 'keys') return keys(sub, values);
  throw new SotongError('bad_request', USAGE);
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof SotongError) process.stderr.write(`sotong: ${err.message}\n`);
  else process.stderr.write(`sotong: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
