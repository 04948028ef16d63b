import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getPriority, setPriority } from 'node:os';
import { type Handler, LOCAL_ACCOUNT, LOCAL_REGION, lambdaContext } from './lambda.js';

/** An external extension: an executable Lambda would find under /opt/extensions/, named as its file. */
export interface ExternalExtension {
  name: string;
  command: string;
  args?: string[];
}

export interface LambdaEnvironmentOptions {
  functionName: string;
  timeoutSeconds?: number;
  /** The function's environment variables, which its extensions share. */
  env?: Record<string, string>;
  extensions: ExternalExtension[];
  /** The function's handler, run by a runtime in this process that speaks the Runtime API over HTTP. */
  handler: Handler;
}

export interface Invocation {
  requestId: string;
  response?: unknown;
  /** What the runtime posted to /error, or the emulator's own error (Sandbox.Timedout, Extension.Crash). */
  error?: { errorType: string; errorMessage: string };
}

export interface LambdaEnvironment {
  /** host:port, as Lambda sets AWS_LAMBDA_RUNTIME_API. */
  runtimeApi: string;
  invoke(event: unknown): Promise<Invocation>;
  /** The Shutdown phase: SHUTDOWN to the extensions, which have until its deadline to exit; then SIGKILL. */
  shutdown(reason?: 'spindown' | 'timeout' | 'failure'): Promise<{ exited: string[]; killed: string[]; ms: number }>;
  /** Kills an extension with SIGKILL, as a crash; the next invocation finds it gone and resets the environment. */
  crash(name: string): Promise<void>;
  /** Whether an extension's process is alive and registered. */
  running(name: string): boolean;
  /** The process id of an extension's running process. */
  pid(name: string): number | undefined;
  stop(): Promise<void>;
}

/** Lambda's limits (the Extensions API's documentation): Init 10 s; Shutdown 2,000 ms with external extensions. */
const INIT_LIMIT_MS = 10_000;
const SHUTDOWN_LIMIT_MS = 2_000;
const EVENT_TYPES = new Set(['INVOKE', 'SHUTDOWN']);

interface Extension {
  spec: ExternalExtension;
  process: ChildProcess;
  exited: boolean;
  id?: string;
  events: Set<string>;
  /** Called /event/next since its last event: done with the current phase. */
  ready: boolean;
  queue: unknown[];
  waiting?: ServerResponse;
}

interface PendingInvocation {
  requestId: string;
  event: unknown;
  deadlineMs: number;
  done: (outcome: Omit<Invocation, 'requestId'>) => void;
}

/**
 * A local Lambda execution environment that plays AWS's documented Runtime API (/2018-06-01/runtime/...) and Extensions
 * API (/2020-01-01/extension/...) to real processes: it starts the external extensions, waits for each to register and
 * ask for its next event (Init), hands each invocation to the runtime and an INVOKE event to the extensions that asked
 * for it, freezes the extensions (SIGSTOP) once the runtime has answered and every extension has asked for its next
 * event, thaws them (SIGCONT) for the next event, and at Shutdown gives them SHUTDOWN and 2,000 ms before SIGKILL.
 * The runtime is a loop in this process (never frozen); docs/lambda-extension.md lists the other differences.
 */
export async function startLambdaEnvironment(o: LambdaEnvironmentOptions): Promise<LambdaEnvironment> {
  const timeoutMs = (o.timeoutSeconds ?? 10) * 1000;
  const arn = `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${o.functionName}`;
  let phase: 'init' | 'ready' | 'invoke' | 'shutdown' = 'init';
  let extensions: Extension[] = [];
  const runtime: { queue: PendingInvocation[]; waiting?: ServerResponse; ready: boolean } = { queue: [], ready: false };
  const inFlight = new Map<string, PendingInvocation>();
  let wake: () => void = () => undefined;
  const changed = () => wake();
  /** Resolves once `done()` holds, re-checked on every protocol call and process exit; false at the deadline. */
  const until = async (done: () => boolean, deadline: number): Promise<boolean> => {
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => (clearTimeout(timer), resolve());
      });
    }
    return true;
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const deliverToExtension = (ext: Extension) => {
    if (!ext.waiting || ext.queue.length === 0) return;
    const event = ext.queue.shift();
    const res = ext.waiting;
    ext.waiting = undefined;
    send(res, 200, event, { 'lambda-extension-event-identifier': randomUUID() });
  };
  const deliverToRuntime = () => {
    if (!runtime.waiting || runtime.queue.length === 0) return;
    const inv = runtime.queue.shift()!;
    const res = runtime.waiting;
    runtime.waiting = undefined;
    inFlight.set(inv.requestId, inv);
    send(res, 200, inv.event, {
      'lambda-runtime-aws-request-id': inv.requestId,
      'lambda-runtime-deadline-ms': String(inv.deadlineMs),
      'lambda-runtime-invoked-function-arn': arn,
      'lambda-runtime-trace-id': `Root=1-${randomUUID().replaceAll('-', '').slice(0, 24)};Sampled=0`,
    });
  };

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const path = (req.url ?? '').split('?')[0]!;
    const byId = () => extensions.find((e) => e.id !== undefined && e.id === req.headers['lambda-extension-identifier']);
    try {
      if (req.method === 'POST' && path === '/2020-01-01/extension/register') {
        const name = req.headers['lambda-extension-name'];
        const ext = extensions.find((e) => e.spec.name === name && e.id === undefined);
        if (phase !== 'init' || !ext)
          return send(res, 403, {
            errorType: 'Extension.RegistrationDenied',
            errorMessage: phase !== 'init' ? 'extensions register during Init only' : `no unregistered extension file is named ${name}`,
          });
        const events = (JSON.parse(text || '{}') as { events?: unknown }).events;
        if (!Array.isArray(events) || !events.every((e) => EVENT_TYPES.has(e)))
          return send(res, 400, { errorType: 'InvalidEventType', errorMessage: 'events must list INVOKE and/or SHUTDOWN' });
        ext.id = randomUUID();
        ext.events = new Set(events as string[]);
        changed();
        return send(
          res,
          200,
          { functionName: o.functionName, functionVersion: '$LATEST', handler: 'index.handler', accountId: LOCAL_ACCOUNT },
          { 'lambda-extension-identifier': ext.id },
        );
      }
      if (req.method === 'GET' && path === '/2020-01-01/extension/event/next') {
        const ext = byId();
        if (!ext) return send(res, 403, { errorType: 'Extension.UnknownExtensionIdentifier', errorMessage: 'register first' });
        ext.ready = true;
        ext.waiting = res;
        changed();
        return deliverToExtension(ext);
      }
      if (req.method === 'POST' && (path === '/2020-01-01/extension/init/error' || path === '/2020-01-01/extension/exit/error')) {
        if (!byId()) return send(res, 403, { errorType: 'Extension.UnknownExtensionIdentifier', errorMessage: 'register first' });
        return send(res, 202, { status: 'OK' });
      }
      if (req.method === 'GET' && path === '/2018-06-01/runtime/invocation/next') {
        runtime.ready = true;
        runtime.waiting = res;
        changed();
        return deliverToRuntime();
      }
      const answered = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(path);
      if (req.method === 'POST' && answered) {
        const inv = inFlight.get(decodeURIComponent(answered[1]!));
        if (!inv) return send(res, 400, { errorType: 'InvalidRequestID', errorMessage: 'no invocation in flight has this id' });
        inFlight.delete(inv.requestId);
        const body = text ? JSON.parse(text) : undefined;
        inv.done(answered[2] === 'response' ? { response: body } : { error: body });
        return send(res, 202, { status: 'OK' });
      }
      if (req.method === 'POST' && path === '/2018-06-01/runtime/init/error') return send(res, 202, { status: 'OK' });
      send(res, 404, { errorType: 'NotFound', errorMessage: `${req.method} ${path}` });
    } catch (error) {
      send(res, 400, { errorType: 'InvalidRequest', errorMessage: (error as Error).message });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const runtimeApi = `127.0.0.1:${(server.address() as AddressInfo).port}`;

  const signal = (sig: NodeJS.Signals) => {
    for (const e of extensions) if (!e.exited) e.process.kill(sig);
  };
  const start = (spec: ExternalExtension): Extension => {
    const child = spawn(spec.command, spec.args ?? [], {
      env: { PATH: process.env.PATH ?? '', ...o.env, AWS_LAMBDA_RUNTIME_API: runtimeApi },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const ext: Extension = { spec, process: child, exited: false, events: new Set(), ready: false, queue: [] };
    child.once('exit', () => {
      ext.exited = true;
      changed();
    });
    return ext;
  };
  const kill = async () => {
    for (const e of extensions) if (!e.exited) e.process.kill('SIGKILL');
    await until(() => extensions.every((e) => e.exited), Date.now() + 5_000);
  };
  /** Extension init, then runtime init; then the environment is frozen until its first event. */
  const init = async () => {
    phase = 'init';
    extensions = o.extensions.map(start);
    const ok = await until(
      () => extensions.some((e) => e.exited) || (extensions.every((e) => e.ready) && runtime.ready),
      Date.now() + INIT_LIMIT_MS,
    );
    const failed = extensions.filter((e) => e.exited || !e.ready).map((e) => e.spec.name);
    if (!ok || failed.length) {
      await kill();
      throw new Error(`Init failed: extension(s) ${failed.join(', ') || '(runtime)'} did not register and ask for an event`);
    }
    signal('SIGSTOP');
    phase = 'ready';
  };

  let running = true;
  const runtimeLoop = (async () => {
    const base = `http://${runtimeApi}/2018-06-01/runtime`;
    while (running) {
      const next = await fetch(`${base}/invocation/next`).catch(() => undefined);
      if (!next?.ok) continue;
      const requestId = next.headers.get('lambda-runtime-aws-request-id')!;
      const event = await next.json();
      const post = (kind: 'response' | 'error', body: unknown) =>
        fetch(`${base}/invocation/${requestId}/${kind}`, { method: 'POST', body: JSON.stringify(body) }).catch(() => undefined);
      try {
        await post('response', await o.handler(event, { ...lambdaContext(o.functionName, timeoutMs / 1000), awsRequestId: requestId }));
      } catch (error) {
        await post('error', { errorType: (error as Error).name, errorMessage: (error as Error).message });
      }
    }
  })();
  await init();

  return {
    runtimeApi,
    async invoke(event) {
      if (phase !== 'ready') throw new Error(`cannot invoke in phase ${phase}`);
      // An extension that crashed: Lambda resets the environment, and Init runs again before the invocation.
      if (extensions.some((e) => e.exited)) {
        await kill();
        await init();
      }
      phase = 'invoke';
      signal('SIGCONT');
      const requestId = randomUUID();
      const deadlineMs = Date.now() + timeoutMs;
      let outcome: Omit<Invocation, 'requestId'> | undefined;
      for (const e of extensions)
        if (e.events.has('INVOKE')) {
          e.ready = false;
          e.queue.push({
            eventType: 'INVOKE',
            deadlineMs,
            requestId,
            invokedFunctionArn: arn,
            tracing: { type: 'X-Amzn-Trace-Id', value: `Root=1-${requestId.slice(0, 8)}` },
          });
          deliverToExtension(e);
        }
      runtime.ready = false;
      runtime.queue.push({ requestId, event, deadlineMs, done: (o) => ((outcome = o), changed()) });
      deliverToRuntime();
      // The invocation is over when the runtime has answered and every extension has asked for its next event.
      const finished = await until(
        () => outcome !== undefined && runtime.ready && extensions.every((e) => e.ready || e.exited),
        deadlineMs,
      );
      if (extensions.some((e) => e.exited)) outcome = { error: { errorType: 'Extension.Crash', errorMessage: 'an extension exited' } };
      else if (!finished) outcome ??= { error: { errorType: 'Sandbox.Timedout', errorMessage: `timed out after ${timeoutMs} ms` } };
      signal('SIGSTOP');
      phase = 'ready';
      return { requestId, ...outcome };
    },
    async shutdown(reason = 'spindown') {
      const started = Date.now();
      phase = 'shutdown';
      // In Lambda the runtime is done by Shutdown and the extensions have the sandbox's CPU to themselves. Here the
      // machine may be busy with much else (a whole test suite), where an extension that lowered its own priority (the
      // Meterline extension runs at nice 19) could miss the deadline for want of CPU alone: each gets this process's
      // priority back, where the system allows it.
      for (const e of extensions) if (!e.exited && e.process.pid !== undefined) restorePriority(e.process.pid);
      signal('SIGCONT');
      const deadlineMs = started + SHUTDOWN_LIMIT_MS;
      for (const e of extensions)
        if (e.events.has('SHUTDOWN')) {
          e.queue.push({ eventType: 'SHUTDOWN', shutdownReason: reason, deadlineMs });
          deliverToExtension(e);
        }
      await until(() => extensions.every((e) => e.exited), deadlineMs);
      const exited = extensions.filter((e) => e.exited).map((e) => e.spec.name);
      const killed = extensions.filter((e) => !e.exited).map((e) => e.spec.name);
      await kill();
      return { exited, killed, ms: Date.now() - started };
    },
    async crash(name) {
      const victims = extensions.filter((e) => e.spec.name === name && !e.exited);
      for (const e of victims) e.process.kill('SIGKILL');
      await until(() => victims.every((e) => e.exited), Date.now() + 5_000);
    },
    running: (name) => extensions.some((e) => e.spec.name === name && !e.exited && e.id !== undefined),
    pid: (name) => extensions.find((e) => e.spec.name === name && !e.exited)?.process.pid,
    async stop() {
      running = false;
      await kill();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runtimeLoop;
    },
  };
}

/** Every thread of `pid` (nice is per thread on Linux) at this process's priority; as it was where that is not allowed. */
function restorePriority(pid: number): void {
  let threads: number[];
  try {
    threads = readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    threads = [pid];
  }
  const priority = getPriority();
  for (const thread of threads) {
    try {
      setPriority(thread, priority);
    } catch {
      // Raising a priority takes a privilege an ordinary user may not have.
    }
  }
}
