import { calendarMonth } from '../shared/kernel/periods.js';

const HOUR = 3_600_000;
const YOUNG = 3 * 24 * HOUR;

/**
 * The start of the month, or three days back while the month is younger than that: on the 1st there would be
 * nothing to show. Last month is still open then (late events are taken for 72 hours after a period ends).
 */
export function demoStart(now: number): number {
  const month = calendarMonth(now).start;
  return now - month < YOUNG ? Math.floor((now - YOUNG) / HOUR) * HOUR : month;
}

/**
 * A realistic month so far for the demo tenant, as its product would have sent it: orders, invoices and
 * API calls following a working-hours curve and quieter weekends, AI jobs of three types, a storage gauge
 * read every six hours as it grows, and the distinct users active each day. Seeded, so every start
 * shows the same shape; timestamps run from `demoStart(now)` to now. `postedAt`, the `now` of an earlier call
 * whose events were posted, leaves out the hours that call covered: a later start tops the month up with
 * new ids only.
 */
export function demoEvents(now = Date.now(), seed = 7, postedAt = Number.NEGATIVE_INFINITY): Record<string, unknown>[] {
  let state = seed;
  const random = () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const start = demoStart(now);
  const events: Record<string, unknown>[] = [];
  const at = (ms: number) => new Date(Math.min(ms, now - 60_000)).toISOString();
  const users = Array.from({ length: 14 }, (_, i) => `user-${i + 1}`);
  let storage = 38.5;

  for (let hour = start; hour < now - HOUR; hour += HOUR) {
    // The same draws either way, so an hour's events do not depend on whether earlier hours were posted.
    const covered = hour < postedAt - HOUR;
    const before = events.length;
    const d = new Date(hour);
    const weekend = d.getUTCDay() === 0 || d.getUTCDay() === 6;
    const h = d.getUTCHours();
    const busy = (h >= 8 && h < 19 ? 1 : 0.15) * (weekend ? 0.35 : 1);
    const n = (mean: number) => Math.round(mean * busy * (0.6 + random() * 0.8));
    const stamp = () => at(hour + Math.floor(random() * HOUR));
    const id = (meter: string, i: number) => `demo-${meter}-${hour}-${i}`;

    for (let i = 0; i < n(4); i++) events.push({ id: id('orders', i), meter: 'orders', timestamp: stamp() });
    for (let i = 0; i < n(2); i++) events.push({ id: id('invoices', i), meter: 'invoices', timestamp: stamp() });
    // Ten API calls a busy hour: the volume `npm start` posts and folds on DynamoDB Local grows with the day of the month
    // (about 5,500 events by its end), and most of it is API calls.
    for (let i = 0; i < n(10); i++) events.push({ id: id('api_calls', i), meter: 'api_calls', timestamp: stamp() });
    for (let i = 0; i < n(1.2); i++) {
      const jobType = random() < 0.55 ? 'summary' : random() < 0.7 ? 'extraction' : 'translation';
      events.push({ id: id('ai_jobs', i), meter: 'ai_jobs', timestamp: stamp(), properties: { job_type: jobType } });
    }
    for (let i = 0; i < n(0.8); i++) events.push({ id: id('estimates', i), meter: 'estimates', timestamp: stamp() });
    if (h % 6 === 0) {
      storage += random() * 0.4;
      events.push({ id: id('storage_gb', 0), meter: 'storage_gb', timestamp: at(hour), value: storage.toFixed(2) });
    }
    if (h === 9 && !weekend) {
      for (const user of users.filter(() => random() < 0.75)) {
        events.push({ id: `demo-seats-${hour}-${user}`, meter: 'seats', timestamp: at(hour + 600_000), properties: { user_id: user } });
      }
    }
    if (covered) events.length = before;
  }
  return events;
}

/** Posts events through the ingest API in requests of 250, retrying a 5xx with the same ids as the API asks. */
export async function postEvents(apiUrl: string, key: string, events: readonly Record<string, unknown>[]): Promise<number> {
  let accepted = 0;
  for (let i = 0; i < events.length; i += 250) {
    const batch = events.slice(i, i + 250);
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(`${apiUrl}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(batch),
      });
      if (res.status === 202) {
        accepted += ((await res.json()) as { accepted: number }).accepted;
        break;
      }
      if (res.status < 500 || attempt === 9) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
      await new Promise((r) => setTimeout(r, 1_000 * (attempt + 1)));
    }
  }
  return accepted;
}
