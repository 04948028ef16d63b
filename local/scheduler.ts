import type { ScheduledInvocation } from '../shared/platform/schedule.js';
import { type Handler, lambdaContext } from './lambda.js';

export interface Schedule {
  name: string;
  expression: string;
  timeoutSeconds: number;
  /** The function, loaded at its first run as Lambda loads it at a cold start, outside the run's timeout. */
  handler: () => Promise<Handler<ScheduledInvocation, unknown>>;
}

/**
 * Plays EventBridge Scheduler: runs each function when its `rate(...)` or `cron(...)` expression (UTC)
 * falls due. `run(name)` fires one at once, as `aws scheduler` cannot but a developer wants to. Unless `onTime` is
 * false: then only `run` fires them.
 */
export function startScheduler(schedules: Schedule[], onError: (name: string, error: unknown) => void, onTime = true) {
  const timers = new Map<string, NodeJS.Timeout>();
  const inFlight = new Map<Promise<unknown>, string>();
  let running = true;

  const run = async (name: string, due = new Date()) => {
    const s = schedules.find((x) => x.name === name);
    if (!s) throw new Error(`no schedule named ${name}`);
    const event: ScheduledInvocation = { source: 'meterline.schedule', schedule: name, time: due.toISOString() };
    const job = s.handler().then((handler) => handler(event, lambdaContext(name, s.timeoutSeconds)));
    inFlight.set(job, name);
    return job.finally(() => inFlight.delete(job));
  };

  const arm = (s: Schedule) => {
    if (!running) return;
    const due = nextRun(s.expression, new Date());
    const timer = setTimeout(
      () => {
        run(s.name, due)
          .catch((error) => onError(s.name, error))
          .finally(() => arm(s));
      },
      Math.min(due.getTime() - Date.now(), 2 ** 31 - 1),
    );
    timer.unref();
    timers.set(s.name, timer);
  };
  if (onTime) schedules.forEach(arm);

  return {
    run,
    /** The names of the jobs running now. */
    running: () => [...inFlight.values()],
    /** Arms no more runs and resolves when the running ones have ended (each job resumes from its own state if cut short). */
    async stop() {
      running = false;
      for (const t of timers.values()) clearTimeout(t);
      await Promise.allSettled(inFlight.keys());
    },
  };
}

/** The next instant after `from` matching a Scheduler expression: rate(N unit) or cron(min hour day month weekday year). */
export function nextRun(expression: string, from: Date): Date {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate) {
    const unit = { minute: 60_000, hour: 3_600_000, day: 86_400_000 }[rate[2]!.replace(/s$/, '') as 'minute' | 'hour' | 'day'];
    return new Date(from.getTime() + Number(rate[1]) * unit);
  }
  const cron = /^cron\((.+)\)$/.exec(expression);
  if (!cron) throw new Error(`unsupported schedule expression ${expression}`);
  const [minute, hour, day, month, weekday] = cron[1]!.split(/\s+/) as [string, string, string, string, string];
  const matches = (field: string, value: number) =>
    field === '*' ||
    field === '?' ||
    field.split(',').some((f) => (f.startsWith('*/') ? value % Number(f.slice(2)) === 0 : Number(f) === value));
  const t = new Date(Math.floor(from.getTime() / 60_000) * 60_000 + 60_000);
  for (let i = 0; i < 366 * 24 * 60; i++, t.setTime(t.getTime() + 60_000)) {
    if (
      matches(minute, t.getUTCMinutes()) &&
      matches(hour, t.getUTCHours()) &&
      matches(day, t.getUTCDate()) &&
      matches(month, t.getUTCMonth() + 1) &&
      matches(weekday, t.getUTCDay() + 1)
    ) {
      return t;
    }
  }
  throw new Error(`schedule ${expression} never fires`);
}
