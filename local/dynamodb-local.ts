import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, waitFor } from './net.js';

/**
 * DynamoDB Local, the official jar. It ships inside the npm package amplify-dynamodb-simulator;
 * only its `emulator/` folder is taken (npm pack + tar), not the package's 280 dependencies.
 */
const SIMULATOR = 'amplify-dynamodb-simulator@2.9.30';
const CACHE = resolve(import.meta.dirname, '..', '.cache', 'dynamodb-local');

export function ensureDynamoDbLocal(): string {
  if (existsSync(join(CACHE, 'DynamoDBLocal.jar'))) return CACHE;
  const work = mkdtempSync(join(tmpdir(), 'ddb-local-'));
  try {
    const tarball = execFileSync('npm', ['pack', SIMULATOR, '--silent', '--pack-destination', work], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .pop()!;
    execFileSync('tar', ['-xzf', join(work, tarball), '-C', work, 'package/emulator']);
    mkdirSync(resolve(CACHE, '..'), { recursive: true });
    rmSync(CACHE, { recursive: true, force: true });
    renameSync(join(work, 'package', 'emulator'), CACHE);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return CACHE;
}

function ensureJava(): void {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
  } catch {
    throw new Error('DynamoDB Local needs Java: install it (Debian/Ubuntu: apt-get install -y default-jre-headless) and run again');
  }
}

/** Whether DynamoDB Local answers at `endpoint` yet (any answer: the request is not a valid call). */
export async function dynamoDbLocalAnswers(endpoint: string): Promise<boolean> {
  return (await fetch(endpoint, { method: 'POST' }).catch(() => undefined)) !== undefined;
}

export interface DynamoDbLocal {
  endpoint: string;
  stop(): Promise<void>;
}

export async function startDynamoDbLocal(options: { port?: number; dbPath?: string } = {}): Promise<DynamoDbLocal> {
  ensureJava();
  const dir = ensureDynamoDbLocal();
  const port = options.port ?? (await freePort());
  if (options.dbPath) mkdirSync(options.dbPath, { recursive: true });
  // One SQLite file, shared-local-instance.db, whatever credentials and region the clients use.
  const storage = options.dbPath ? ['-dbPath', options.dbPath, '-sharedDb'] : ['-inMemory'];
  // Started with SIGINT ignored, which the JVM leaves ignored: a Ctrl-C in the terminal reaches the whole process group,
  // and this process still needs the database to drain the usage queue. It is stopped last, or when this process exits.
  const child = spawn(
    'sh',
    [
      '-c',
      'trap "" INT; exec "$@"',
      'sh',
      'java',
      '-Xmx1g',
      // The client compiler alone and one collector thread: a local database's JVM then spends about half the CPU it
      // would on compiling and collecting, on a machine whose cores the functions and tests need too.
      '-XX:TieredStopAtLevel=1',
      '-XX:+UseSerialGC',
      `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(dir, 'DynamoDBLocal.jar'),
      ...storage,
      // Its usage reports to AWS are on by default; a developer's or CI's local database sends none.
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((done) => child.once('exit', () => (process.off('exit', kill), done())));
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    // The JVM alone can take over 30 s to start on a loaded two-core machine.
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited: ${stderr}`);
      return dynamoDbLocalAnswers(endpoint);
    }, 120_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    endpoint,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
