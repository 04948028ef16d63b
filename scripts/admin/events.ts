import { call } from './client.js';
import { type Command, need, tenantOption, text } from './command.js';
import { EXAMPLES_PER_CODE, type ImportSummary, importEvents, statePath } from './import.js';
import { progressBar } from './progress.js';
import { render } from './render.js';

const enc = encodeURIComponent;

/** A tenant's history loaded, and quarantined events looked at and replayed. */
export const eventCommands: Command[] = [
  {
    name: 'events import',
    summary: "load a tenant's history from NDJSON or CSV (resumable: run it again after an interruption)",
    options: {
      ...tenantOption,
      file: {
        type: 'string',
        description: 'the events, one JSON object a line or CSV with a header',
        required: true,
        value: 'usage.ndjson|usage.csv',
      },
      'first-import': { type: 'boolean', description: "lift the open-period rule (only before the tenant's first invoice)" },
      restart: { type: 'boolean', description: 'send the whole file again, ignoring its state file' },
    },
    notes:
      'Progress goes to stderr. A state file <file>.import-state.json lets the same command resume where it stopped; once a\n' +
      'file is imported completely, the same command sends nothing more (it says so) until --restart.',
    run: async (f, t, io) => {
      const target = t();
      const tenantId = need(f, 'tenant');
      // An unknown tenant is a 404 here, rather than every event rejected as of an unknown meter.
      await call(target, 'GET', `/v1/admin/tenants/${enc(tenantId)}`);
      const stop = new AbortController();
      const interrupt = () => {
        io.stderr.write('\nstopping after the batches in flight; run the same command again to resume\n');
        stop.abort();
      };
      process.once('SIGINT', interrupt);
      const bar = progressBar('importing', io.stderr);
      try {
        const summary = await importEvents({
          target,
          tenantId,
          file: need(f, 'file'),
          ...(f['first-import'] ? { firstImport: true } : {}),
          ...(f.restart ? { restart: true } : {}),
          signal: stop.signal,
          onProgress: (done, total) => bar.update(done, total),
        });
        bar.end();
        if (summary.resumedFrom === summary.lines && summary.lines > 0)
          io.stderr.write(
            `${summary.file} was imported completely before (${statePath(summary.file)}): nothing sent; --restart sends it again\n`,
          );
        else if (summary.resumedFrom > 0) io.stderr.write(`resumed after line ${summary.resumedFrom} of ${summary.lines}\n`);
        return { ...summary, stateFile: statePath(summary.file) };
      } finally {
        process.off('SIGINT', interrupt);
      }
    },
    // Every rejection code on a line of its own, each example whole under it, rather than squeezed into one cell.
    render: (result) => {
      const { rejections, ...rest } = result as ImportSummary;
      const lines = Object.entries(rejections).flatMap(([code, { count, examples }]) => [
        `  ${code}: ${count}`,
        ...examples.map((e) => `    line ${e.line}${e.id ? ` (${e.id})` : ''}${e.field ? `, ${e.field}` : ''}: ${e.message}`),
      ]);
      return `${render(rest)}\n\nrejections${lines.length ? ` (the first ${EXAMPLES_PER_CODE} of each code)\n${lines.join('\n')}` : ': none'}`;
    },
  },
  {
    name: 'quarantine list',
    summary: 'quarantined events of every tenant, or of one, newest first',
    options: {
      tenant: { type: 'string', description: 'one tenant', value: '<id>' },
      from: { type: 'string', description: 'received at or after', value: 'ISO 8601' },
      to: { type: 'string', description: 'received at or before', value: 'ISO 8601' },
      limit: { type: 'string', description: '1-1,000 (default 100)', value: '<n>' },
      cursor: { type: 'string', description: "the previous page's cursor", value: '<cursor>' },
    },
    run: (f, t) => {
      const query = new URLSearchParams();
      for (const [option, parameter] of [
        ['tenant', 'tenantId'],
        ['from', 'from'],
        ['to', 'to'],
        ['limit', 'limit'],
        ['cursor', 'cursor'],
      ] as const) {
        const value = text(f, option);
        if (value !== undefined) query.set(parameter, value);
      }
      return call(t(), 'GET', `/v1/admin/quarantine${query.size ? `?${query}` : ''}`);
    },
  },
  {
    name: 'events replay',
    summary: 'fold a quarantined event once its cause is fixed',
    options: { ...tenantOption, event: { type: 'string', description: 'event id', required: true, value: '<id>' } },
    run: (f, t) => call(t(), 'POST', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/events/${enc(need(f, 'event'))}/replay`),
  },
];
