import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort } from './net.js';

const ROOT = resolve(import.meta.dirname, '..');

export interface NpmStart {
  apiUrl: string;
  /** What the process printed so far. */
  output(): string;
  /** The demo keys and the rest of what it saved in its state directory. */
  saved(): { adminKey: string; tenantKey: string };
  /** Sends SIGINT to its process group, as Ctrl-C in a terminal does, and resolves when it has exited (npm exits by the signal). */
  interrupt(): Promise<void>;
  kill(): void;
  /** Whether it printed its whole banner. */
  ready(): boolean;
}

/**
 * The real `npm start`, as a developer runs it: its own process group (so a signal reaches npm and node as a
 * terminal's Ctrl-C does), a free port and `stateDir` for its data. Resolves once it says it is up.
 */
export async function npmStart(stateDir: string, args: string[] = [], timeoutMs = 300_000): Promise<NpmStart> {
  // A free port can be taken by another test's emulator before npm start binds it: then it says so, and a new one is tried.
  for (let attempt = 1; ; attempt++) {
    const started = await startOnce(stateDir, args, timeoutMs);
    if (started.output().includes('is taken') && attempt < 3) continue;
    if (!started.ready()) {
      started.kill();
      throw new Error(`npm start did not come up:\n${started.output()}`);
    }
    return started;
  }
}

async function startOnce(stateDir: string, args: string[], timeoutMs: number) {
  const port = await freePort();
  const child: ChildProcess = spawn('npm', ['start', ...(args.length ? ['--', ...args] : [])], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PORT: String(port), METERLINE_STATE_DIR: stateDir, POWERTOOLS_LOG_LEVEL: 'ERROR' },
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const kill = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  // The banner's last line: the whole banner (links, keys) is printed by then.
  const ready = () => output.includes('Ctrl-C stops everything');
  const deadline = Date.now() + timeoutMs;
  while (!ready() && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return {
    apiUrl: `http://127.0.0.1:${port}`,
    output: () => output,
    saved: () => JSON.parse(readFileSync(join(stateDir, 'local.json'), 'utf8')),
    interrupt: () => {
      process.kill(-child.pid!, 'SIGINT');
      return exited;
    },
    kill,
    ready,
  };
}
