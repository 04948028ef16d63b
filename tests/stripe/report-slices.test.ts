import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planReport, REPORT_SLICE_TENANTS, type ReportSlice, reportSliceSchema, sliceTenants } from '../../shared/stripe/report-slices.js';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

async function* pagesOf<T>(pages: T[][]) {
  for (const page of pages) yield page;
}

const collect = async <T>(items: AsyncIterable<T>) => {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
};

/** Distinct tenant ids, cut into pages of any sizes (empty pages too, as a query page can be). */
const pagedIds = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { maxLength: 400 }).chain((ids) =>
  fc.array(fc.nat({ max: 60 }), { maxLength: 40 }).map((cuts) => {
    const pages: string[][] = [];
    let at = 0;
    for (const cut of cuts) {
      pages.push(ids.slice(at, at + cut));
      at += cut;
    }
    pages.push(ids.slice(at));
    return { ids, pages };
  }),
);

describe('report slices', () => {
  it('puts every tenant in exactly one slice, in order, every slice full but the last, none empty', async () => {
    await fc.assert(
      fc.asyncProperty(pagedIds, fc.integer({ min: 1, max: 50 }), async ({ ids, pages }, size) => {
        const slices = await collect(sliceTenants(pagesOf(pages), size));
        expect(slices.flat()).toEqual(ids);
        expect(slices.length).toBe(Math.ceil(ids.length / size));
        for (const slice of slices.slice(0, -1)) expect(slice).toHaveLength(size);
        for (const slice of slices) expect(slice.length).toBeGreaterThan(0);
      }),
    );
  });

  it('plans one message per slice, each with the run and its scheduled time, readable by the worker', async () => {
    await fc.assert(
      fc.asyncProperty(pagedIds, fc.integer({ min: 1, max: 50 }), async ({ ids, pages }, size) => {
        const sent: ReportSlice[] = [];
        const now = Date.parse('2026-11-30T01:00:00Z');
        const plan = await planReport(
          {
            tenants: {
              tenantPages: () => pagesOf(pages.map((page) => page.map((id) => ({ id, name: id, createdAt: '2026-01-01T00:00:00Z' })))),
            },
            queue: { send: async (slice) => void sent.push(reportSliceSchema.parse(JSON.parse(JSON.stringify(slice)))) },
            log: quiet,
            sliceSize: size,
          },
          { runId: 'run-1', now },
        );
        expect(plan).toEqual({ runId: 'run-1', scheduledAt: '2026-11-30T01:00:00.000Z', tenants: ids.length, slices: sent.length });
        expect(sent.map((s) => s.slice)).toEqual(sent.map((_, i) => i));
        expect(sent.every((s) => s.runId === 'run-1' && s.scheduledAt === '2026-11-30T01:00:00.000Z')).toBe(true);
        expect(sent.flatMap((s) => s.tenantIds)).toEqual(ids);
      }),
    );
  });

  it('sends a small deployment as one slice and no tenants as none', async () => {
    const plan = (ids: string[]) => collect(sliceTenants(pagesOf([ids]))).then((slices) => slices.map((s) => s.length));
    expect(await plan(['acme', 'globex'])).toEqual([2]);
    expect(await plan([])).toEqual([]);
    expect(await plan(Array.from({ length: REPORT_SLICE_TENANTS + 1 }, (_, i) => `t${i}`))).toEqual([REPORT_SLICE_TENANTS, 1]);
  });

  it('refuses a message a worker cannot trust: no scheduled time, an empty or oversized slice', () => {
    const ok = { runId: 'r', scheduledAt: '2026-11-30T01:00:00.000Z', slice: 0, tenantIds: ['acme'] };
    expect(reportSliceSchema.safeParse(ok).success).toBe(true);
    expect(reportSliceSchema.safeParse({ ...ok, scheduledAt: undefined }).success).toBe(false);
    expect(reportSliceSchema.safeParse({ ...ok, tenantIds: [] }).success).toBe(false);
    expect(
      reportSliceSchema.safeParse({ ...ok, tenantIds: Array.from({ length: REPORT_SLICE_TENANTS + 1 }, (_, i) => `t${i}`) }).success,
    ).toBe(false);
  });
});
