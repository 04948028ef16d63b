import { call } from './client.js';
import { type Command, need } from './command.js';
import { importEvents, statePath } from './import.js';
import { progressBar } from './progress.js';

/** Loading a tenant's history. */
export const eventCommands: Command[] = [
  {
    name: 'events import',
    usage: '--tenant <id> --file usage.ndjson|usage.csv [--first-import]   (resumable: run it again after an interruption)',
    run: async (f, t) => {
      const target = t();
      const tenantId = need(f, 'tenant');
      // An unknown tenant is a 404 here, rather than every event rejected as of an unknown meter.
      await call(target, 'GET', `/v1/admin/tenants/${encodeURIComponent(tenantId)}`);
      const stop = new AbortController();
      const interrupt = () => {
        process.stderr.write('\nstopping after the batches in flight; run the same command again to resume\n');
        stop.abort();
      };
      process.once('SIGINT', interrupt);
      const bar = progressBar('importing');
      try {
        const summary = await importEvents({
          target,
          tenantId,
          file: need(f, 'file'),
          ...(f['first-import'] !== undefined ? { firstImport: true } : {}),
          signal: stop.signal,
          onProgress: (done, total) => bar.update(done, total),
        });
        bar.end();
        return { ...summary, stateFile: statePath(summary.file) };
      } finally {
        process.off('SIGINT', interrupt);
      }
    },
  },
];
