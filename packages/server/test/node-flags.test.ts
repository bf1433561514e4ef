import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SERVER_NODE_FLAGS } from '../src/node-flags.js';

describe('the Node flags of the server', () => {
  it('are the ones `npm start` runs it with, as tests and bench do', () => {
    const root = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } };
    for (const flag of SERVER_NODE_FLAGS) assert.ok(root.scripts.start.includes(flag), `npm start lacks ${flag}: ${root.scripts.start}`);
  });
});
