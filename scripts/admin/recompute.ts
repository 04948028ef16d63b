import type { RecomputeJob } from '../../shared/metering/recompute-job.js';
import { call, type Target } from './client.js';
import { type Command, need, type Output, tenantOption, text } from './command.js';
import { activityLine } from './progress.js';
import { render, table } from './render.js';

const enc = encodeURIComponent;

/** Follows a job until it ends, drawing its progress on `out`. */
async function follow(target: Target, jobId: string, out: Output): Promise<RecomputeJob> {
  const line = activityLine(out);
  try {
    for (;;) {
      const job = (await call(target, 'GET', `/v1/admin/recompute/${enc(jobId)}`)) as RecomputeJob;
      const p = job.progress;
      const seconds = job.startedAt ? (Date.now() - Date.parse(job.startedAt)) / 1000 : 0;
      line.update(
        `recompute ${job.status} · ${p.phase} · ${p.itemsScanned.toLocaleString('en-US')} ledger items, ${p.eventsRead.toLocaleString('en-US')} events (${Math.round(p.eventsRead / Math.max(seconds, 1)).toLocaleString('en-US')}/s) · ${p.countersCompared.toLocaleString('en-US')} counters compared · ${p.driftsFound} drifts, ${p.driftsRepaired} repaired`,
      );
      if (job.status === 'succeeded' || job.status === 'failed') return job;
      await new Promise((done) => setTimeout(done, 1_000));
    }
  } finally {
    line.end();
  }
}

/** The job as people read it: what it covered and found, then one row per drift. */
function renderJob(result: unknown): string {
  const job = result as RecomputeJob;
  const { drifts, progress, limits } = job;
  const seconds = job.startedAt && job.finishedAt ? (Date.parse(job.finishedAt) - Date.parse(job.startedAt)) / 1000 : undefined;
  const summary = render({
    jobId: job.jobId,
    tenantId: job.tenantId,
    meter: job.meter ?? '(every meter)',
    range: `${job.from} .. ${job.to}`,
    repair: job.repair,
    status: job.status,
    ...(job.error ? { error: job.error } : {}),
    createdAt: job.createdAt,
    ...(seconds !== undefined ? { seconds, 'events/s': Math.round(progress.eventsRead / Math.max(seconds, 0.001)) } : {}),
    ...progress,
    limits: limits.length ? limits.join('; ') : 'none',
  });
  const rows = drifts.map((d) => ({
    meter: d.meter,
    granularity: d.granularity,
    period: d.period,
    group: d.group,
    aggregation: d.aggregation,
    expected: `${d.expected.value ?? '-'} (${d.expected.events} events)`,
    actual: `${d.actual.value ?? '-'} (${d.actual.events} events)`,
    markers: [
      d.missingMarkers?.length ? `missing ${d.missingMarkers.join(',')}` : '',
      d.extraMarkers?.length ? `extra ${d.extraMarkers.join(',')}` : '',
    ]
      .filter(Boolean)
      .join('; '),
    repair: d.repair ?? '',
  }));
  return `${summary}\n\ndrifts (${progress.driftsFound})\n${table(rows)}`;
}

/** Recompute: rebuild counters from the ledger, report drifts, repair them on request. */
export const recomputeCommands: Command[] = [
  {
    name: 'recompute start',
    summary: "rebuild a tenant's counters from the ledger, compare, report every drift (and repair it with --repair)",
    options: {
      ...tenantOption,
      meter: { type: 'string', description: 'one meter (default: every meter)', value: '<key>' },
      from: {
        type: 'string',
        description: 'counters of periods starting at or after (default: as far as the ledger reaches)',
        value: 'ISO 8601',
      },
      to: { type: 'string', description: 'counters of periods starting before (default: the end of this hour)', value: 'ISO 8601' },
      repair: { type: 'boolean', description: 'repair the drifts found (conditional writes; ingestion can keep running)' },
      'no-wait': { type: 'boolean', description: 'print the queued job and return instead of following it' },
    },
    notes: 'The worker picks the job up within a minute; progress is drawn on stderr until it ends (docs/fixing-the-past.md).',
    run: async (f, t, io) => {
      const target = t();
      const meter = text(f, 'meter');
      const from = text(f, 'from');
      const to = text(f, 'to');
      const job = (await call(target, 'POST', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/recompute`, {
        ...(meter ? { meter } : {}),
        ...(from ? { from } : {}),
        ...(to ? { to } : {}),
        repair: Boolean(f.repair),
      })) as RecomputeJob;
      return f['no-wait'] ? job : follow(target, job.jobId, io.stderr);
    },
    render: renderJob,
  },
  {
    name: 'recompute status',
    summary: "a recompute job's progress, drifts and repairs",
    options: {
      job: { type: 'string', description: 'job id', required: true, value: '<jobId>' },
      wait: { type: 'boolean', description: 'follow it until it ends' },
    },
    run: (f, t, io) => (f.wait ? follow(t(), need(f, 'job'), io.stderr) : call(t(), 'GET', `/v1/admin/recompute/${enc(need(f, 'job'))}`)),
    render: renderJob,
  },
];
