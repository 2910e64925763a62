import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createKeyRing, readKeyFile } from '../../adapters/http/security/apiKeys.ts';
import { registerApiKeyCommand } from './apikey.command.ts';

const dirs: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const run = async (args: string[]) => {
  const out: string[] = [];
  const program = new Command().exitOverride();
  registerApiKeyCommand(program, (text) => {
    out.push(text);
  });
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  await program.parseAsync(['node', 'cairn', ...args]);
  return out.join('');
};

describe('cairn apikey create --namespace', () => {
  it('scopes the key to the namespaces given, repeated or comma-separated, and lists them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-apikey-'));
    dirs.push(dir);
    const file = join(dir, 'api-keys.json');
    const key = (
      await run([
        'apikey',
        'create',
        '--role',
        'operator',
        '--name',
        'shop-team',
        '--file',
        file,
        '--namespace',
        'shop,shop-canary',
        '--namespace',
        'web',
      ])
    ).trim();
    await run(['apikey', 'create', '--role', 'viewer', '--name', 'grafana', '--file', file]);

    const stored = readKeyFile(file);
    expect(stored.map((k) => k.namespaces)).toEqual([['shop', 'shop-canary', 'web'], undefined]);
    expect(createKeyRing(stored).verify(key)?.namespaces).toEqual(['shop', 'shop-canary', 'web']);
    const listed = (await run(['apikey', 'list', '--file', file])).trim().split('\n');
    expect(listed.map((line) => line.split('\t').at(-1))).toEqual(['shop,shop-canary,web', '*']);
  });

  it('refuses a name that is not a namespace, and writes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-apikey-'));
    dirs.push(dir);
    const file = join(dir, 'api-keys.json');
    await expect(
      run(['apikey', 'create', '--role', 'operator', '--name', 'x', '--file', file, '--namespace', 'Shop']),
    ).rejects.toThrow('"Shop" is not a namespace name');
    expect(readKeyFile(file)).toEqual([]);
  });
});
