import type { WindowValues } from '../../shared/alerts/anomaly.js';
import { periodKey } from '../../shared/kernel/periods.js';

/**
 * A generated history of one meter's hourly usage: weekday business-hour peaks, quiet nights, weekends at a
 * sixth of a weekday, the last two days of each month at 2.5 times, slow growth and ±10% noise; plus injected
 * anomalies, each a span of hours multiplied by a factor. Deterministic for a seed.
 */
export interface Injected {
  start: number;
  hours: number;
  factor: number;
  what: string;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function random(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normalLevel(t: number): number {
  const d = new Date(t);
  const hour = d.getUTCHours();
  const weekday = d.getUTCDay() !== 0 && d.getUTCDay() !== 6;
  const business = hour >= 8 && hour < 18 ? 1000 * (1 - Math.abs(hour - 13) / 12) : hour >= 18 && hour < 22 ? 300 : 80;
  const daysInMonth = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  const monthEnd = d.getUTCDate() >= daysInMonth - 1 ? 2.5 : 1;
  return business * (weekday ? 1 : 1 / 6) * monthEnd;
}

export function generateQuarter(seed: number, from: number, quarterStart: number, quarterEnd: number) {
  const rnd = random(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const injected: Injected[] = [];
  const kinds = [
    { what: 'retry storm (x8, 3 h)', hours: 3, factor: 8 },
    { what: 'runaway job (x3, 6 h)', hours: 6, factor: 3 },
    { what: 'outage (x0.05, 4 h)', hours: 4, factor: 0.05 },
    { what: 'partial outage (x0.4, 5 h)', hours: 5, factor: 0.4 },
    { what: 'leaked key at night (x15, 2 h)', hours: 2, factor: 15 },
    { what: 'lost key for a day (x0, 24 h)', hours: 24, factor: 0 },
  ];
  // Two of each kind, at random hours of the quarter, apart from one another.
  for (const kind of [...kinds, ...kinds]) {
    let start: number;
    do start = quarterStart + Math.floor(rnd() * ((quarterEnd - quarterStart) / HOUR - 48)) * HOUR;
    while (injected.some((i) => Math.abs(i.start - start) < 3 * DAY));
    injected.push({ ...kind, start });
  }
  const values = new Map<string, number>();
  for (let t = from; t < quarterEnd; t += HOUR) {
    const growth = 1 + (0.004 * (t - from)) / DAY;
    const hit = injected.find((i) => t >= i.start && t < i.start + i.hours * HOUR);
    const v = normalLevel(t) * growth * Math.exp(0.1 * gauss()) * (hit ? hit.factor : 1);
    values.set(periodKey('hour', t), Math.round(v));
  }
  return { values, injected };
}

/** The counters the evaluator would read: hour values and their day totals. */
export function countersOf(hourly: ReadonlyMap<string, number>): WindowValues {
  const days = new Map<string, number>();
  for (const [k, v] of hourly) days.set(k.slice(0, 10), (days.get(k.slice(0, 10)) ?? 0) + v);
  return (window, key) => String((window === 'hour' ? hourly : days).get(key) ?? 0);
}
