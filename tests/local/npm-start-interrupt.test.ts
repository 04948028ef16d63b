import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { call, type NpmStart, npmStart } from '../support/npm-start.js';

type Outcome = 'accepted' | 'refused' | 'unanswered';

describe('Ctrl-C while events stream in', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'meterline-state-'));
  let running: NpmStart | undefined;
  afterAll(() => {
    running?.kill();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('counts every event answered accepted exactly once after the restart', async () => {
    const first = (running = await npmStart(stateDir));
    const { adminKey } = first.saved();
    expect(await call(first.apiUrl, 'POST', '/v1/admin/tenants', adminKey, { id: 'stream', name: 'Stream' })).toMatchObject({
      status: 201,
    });
    await call(first.apiUrl, 'PUT', '/v1/admin/tenants/stream/meters/orders', adminKey, {
      name: 'Orders',
      unit: 'order',
      aggregation: 'COUNT',
    });
    const key: string = (await call(first.apiUrl, 'POST', '/v1/admin/tenants/stream/api-keys', adminKey, {})).body.token;

    // Two posters send batches of 25 new events, one after another, until the process is gone.
    const batches = new Map<number, { events: object[]; outcome: Outcome; retryAfter?: string | null }>();
    let next = 0;
    let stopped = false;
    const post = async (apiUrl: string, events: object[]) => {
      try {
        const res = await call(apiUrl, 'POST', '/v1/events', key, events);
        if (res.status === 202 && res.body.accepted === events.length) return { outcome: 'accepted' as const };
        if (res.status === 503) return { outcome: 'refused' as const, retryAfter: res.headers.get('retry-after') };
        throw new Error(`ingest answered ${res.status}: ${JSON.stringify(res.body)}`);
      } catch (error) {
        if (error instanceof TypeError) return { outcome: 'unanswered' as const }; // fetch failed: refused or reset
        throw error;
      }
    };
    // A refused poster waits the Retry-After it was given, as a client does, or until the process is gone: a client that
    // asked again at once would only pile up refused batches to send again after the restart.
    const gone = new AbortController();
    const poster = async () => {
      while (!stopped) {
        const n = next++;
        const events = Array.from({ length: 25 }, (_, i) => ({ id: `s-${n}-${i}`, meter: 'orders', timestamp: new Date().toISOString() }));
        const answer = await post(first.apiUrl, events);
        batches.set(n, { events, ...answer });
        if (answer.outcome === 'refused')
          await sleep(Number(answer.retryAfter) * 1000, undefined, { signal: gone.signal }).catch(() => undefined);
      }
    };
    const posters = [poster(), poster()];
    await eventually(
      async () => [...batches.values()].filter((b) => b.outcome === 'accepted').length,
      (n) => n >= 8,
    );
    await first.interrupt();
    stopped = true;
    gone.abort();
    await Promise.all(posters);
    expect(first.output()).toContain('nothing left unfinished');

    const all = [...batches.values()];
    const accepted = all.filter((b) => b.outcome === 'accepted').length * 25;
    const unanswered = all.filter((b) => b.outcome === 'unanswered').length * 25;
    // Requests that came while it was stopping were refused with a Retry-After, not left without an answer.
    expect(all.filter((b) => b.outcome === 'refused').every((b) => b.retryAfter === '5')).toBe(true);

    const second = (running = await npmStart(stateDir));
    const orders = async () =>
      (await call(second.apiUrl, 'GET', '/v1/usage/current', key)).body.meters.find((m: { meter: string }) => m.meter === 'orders') as {
        value: string;
        events: number;
      };
    const counted = await orders();
    expect(Number(counted.value)).toBeGreaterThanOrEqual(accepted);
    expect(Number(counted.value)).toBeLessThanOrEqual(accepted + unanswered);

    // A client sends the batches it had no 202 for again, with the same ids: each event then counts exactly once.
    for (const b of all.filter((x) => x.outcome !== 'accepted')) expect((await post(second.apiUrl, b.events)).outcome).toBe('accepted');
    const total = all.length * 25;
    // The consumer folds the batches sent again in its own time: up to two minutes on a loaded machine.
    let final = await orders();
    for (let i = 0; i < 240 && Number(final.value) < total; i++) {
      await new Promise((r) => setTimeout(r, 500));
      final = await orders();
    }
    expect(final).toMatchObject({ value: String(total), events: total });
    await second.interrupt();
    running = undefined;
  }, 1_200_000);
});
