import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sourceMappedStackTraces } from '../../shared/platform/stack-traces.js';

/**
 * A function's bundle as a deploy builds it (minified, its source map beside it), loaded by Node itself: the stack of
 * an error thrown in it names the TypeScript source, from the repository's root.
 */
describe('source-mapped stack traces', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meterline-stack-traces-'));
  let bundle: { failHere(): never; callThrough(fn: () => void): void };
  const formatter = Error.prepareStackTrace;

  beforeAll(() => {
    mkdirSync(join(dir, 'shared', 'demo'), { recursive: true });
    writeFileSync(
      join(dir, 'shared', 'demo', 'fail.ts'),
      [
        'export function failHere(): never {',
        "  throw new Error('boom');",
        '}',
        'export function callThrough(fn: () => void): void {',
        '  fn();',
        '}',
        '',
      ].join('\n'),
    );
    buildSync({
      entryPoints: [join(dir, 'shared', 'demo', 'fail.ts')],
      outfile: join(dir, 'out', 'bundle.cjs'),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      minify: true,
      sourcemap: 'external',
      logLevel: 'silent',
    });
    bundle = createRequire(import.meta.url)(join(dir, 'out', 'bundle.cjs'));
  });
  afterEach(() => {
    Error.prepareStackTrace = formatter;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const stackOf = (run: () => void): string => {
    try {
      run();
    } catch (error) {
      return (error as Error).stack ?? '';
    }
    throw new Error('did not throw');
  };

  it('names the TypeScript file, line and column of each frame in a mapped bundle', () => {
    sourceMappedStackTraces();
    const lines = stackOf(() => bundle.callThrough(() => bundle.failHere())).split('\n');
    expect(lines[0]).toBe('Error: boom');
    expect(lines[1]).toMatch(/^ {4}at shared\/demo\/fail\.ts:2:\d+$/);
    // Frames outside the bundle (this test) keep V8's own form.
    expect(lines.slice(2).some((line) => line.includes('stack-traces.test.ts'))).toBe(true);
    expect(lines.some((line) => /^ {4}at (\w+ \()?shared\/demo\/fail\.ts:5:\d+\)?$/.test(line))).toBe(true);
  });

  it('leaves a stack that passes through no mapped bundle to the formatter that was there', () => {
    Error.prepareStackTrace = (error) => `formatted: ${(error as Error).message}`;
    sourceMappedStackTraces();
    expect(stackOf(() => JSON.parse('{'))).toMatch(/^formatted: /);
  });

  it('formats such a stack as V8 does when there was no formatter, even for an error that cannot be printed', () => {
    Reflect.deleteProperty(Error, 'prepareStackTrace');
    sourceMappedStackTraces();
    const plain = stackOf(() => {
      throw new RangeError('plain');
    });
    expect(plain.split('\n')[0]).toBe('RangeError: plain');
    expect(plain.split('\n')[1]).toMatch(/^ {4}at /);

    const unprintable = stackOf(() => {
      const error = new Error('hidden');
      error.toString = () => {
        throw new Error('no');
      };
      throw error;
    });
    expect(unprintable.split('\n')[0]).toBe('<error>');
  });

  it('stays out of the way when Node maps stacks itself (--enable-source-maps)', () => {
    process.setSourceMapsEnabled(true);
    try {
      const before = Error.prepareStackTrace;
      sourceMappedStackTraces();
      expect(Error.prepareStackTrace).toBe(before);
    } finally {
      process.setSourceMapsEnabled(false);
    }
  });
});
