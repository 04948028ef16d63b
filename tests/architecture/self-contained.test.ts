import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { testTiers } from '../support/tiers.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SELF = relative(ROOT, import.meta.filename)
  .split('\\')
  .join('/');

/**
 * A clone of this repository alone must pass its tests: nothing may read beside the checkout (a `../shared` folder
 * the tests once took their fixtures from, say). The tracked files are copied into a folder with nothing beside them,
 * and there the suite loads its files: vitest finds and sorts every test file into its tier, and the unit tests that
 * read tests/fixtures run.
 */
describe('the repository alone', () => {
  it('finds its tests and loads their fixtures from a copy of its tracked files with nothing beside it', async () => {
    // Tracked files, and new ones git does not ignore: what a commit of this work tree would hold.
    const tracked = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
      .split('\0')
      .filter((file) => file && existsSync(join(ROOT, file)));
    const outside = mkdtempSync(join(tmpdir(), 'meterline-alone-'));
    const copy = join(outside, 'meterline');
    try {
      for (const file of tracked) cpSync(join(ROOT, file), join(copy, file));
      // Installed packages are the one thing a clone gets from outside its files: `npm ci` puts them inside it.
      symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');

      const tiers = testTiers(copy);
      expect(Object.values(tiers).flat().length).toBeGreaterThan(40);
      // The unit files that read a fixture file: tests/fixtures, through officialSample() or by path.
      const loaders = tiers.unit.filter(
        (file) => file !== SELF && /\bofficialSample\b|'fixtures'/.test(readFileSync(join(copy, file), 'utf8')),
      );
      expect(loaders.length).toBeGreaterThanOrEqual(2);

      // A clean environment: the run in the copy must not think it is a worker of this one.
      const env = {
        ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('VITEST') && name !== 'NODE_OPTIONS')),
        NO_COLOR: '1',
      };
      const run = await promisify(execFile)(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--project', 'unit', ...loaders], {
        cwd: copy,
        env,
        encoding: 'utf8',
      }).catch((failed: { stdout: string; stderr: string }) => expect.fail(`${failed.stdout}\n${failed.stderr}`));
      expect(run.stdout).toMatch(new RegExp(`Test Files +${loaders.length} passed`));
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  }, 240_000);
});
