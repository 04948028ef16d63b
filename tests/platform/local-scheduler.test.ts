import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startScheduler } from '../../local/scheduler.js';
import type { ScheduledInvocation } from '../../shared/platform/schedule.js';

/** The local EventBridge Scheduler: on time for `npm start`, only when asked for a test's stack. */
describe('the local scheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.UTC(2026, 11, 7, 0, 29, 30) });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function everyMinute(onTime?: boolean) {
    const fired: string[] = [];
    const handler = async (event: ScheduledInvocation) => {
      fired.push(event.time);
      return null;
    };
    const scheduler = startScheduler(
      [{ name: 'job', expression: 'rate(1 minute)', timeoutSeconds: 60, handler: async () => handler }],
      () => undefined,
      onTime,
    );
    return { fired, scheduler };
  }

  it('fires a schedule when it falls due, and again at its next time', async () => {
    const { fired, scheduler } = everyMinute();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fired).toEqual(['2026-12-07T00:30:30.000Z']);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fired).toHaveLength(2);
    await scheduler.stop();
  });

  it('fires none on its own when told not to, and still runs one when asked, at the instant given', async () => {
    const { fired, scheduler } = everyMinute(false);
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(fired).toEqual([]);
    await scheduler.run('job', new Date('2026-12-01T00:00:00Z'));
    expect(fired).toEqual(['2026-12-01T00:00:00.000Z']);
    await scheduler.stop();
  });
});
