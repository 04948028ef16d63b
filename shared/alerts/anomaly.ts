import { Dec } from '../kernel/decimal.js';
import { type Granularity, nextPeriodStart, periodKey, periodStart } from '../kernel/periods.js';

/**
 * Anomaly detection: is a meter's latest complete hour (or day) out of line with the tenant's own history?
 *
 * The baseline of a window is the same window one, two, three and four weeks earlier (the same hour of the
 * week, or the same weekday): weekly and daily seasonality are in it by construction. Its centre is the
 * median and its spread the median absolute deviation (scaled by 1.4826 to estimate a standard deviation),
 * both robust to one odd week among the four, so last week's incident does not move this week's range.
 * The spread never goes below a floor of 10% of the median, nor below 10% of the meter's typical hourly
 * (or daily) level: four quiet weeks would otherwise make the smallest wobble an anomaly, and an hour that
 * is usually empty would fire on a handful of events.
 *
 * The expected range is centre ± k·spread, k set by the rule's sensitivity. Month-end bursts recur monthly,
 * which four weeks cannot show. So a window in a month's last week also looks at its analogues: the same
 * hour (or day) as many days before the end of each of the two previous months. Each analogue's burst is
 * its value over the median of its own four weeks before (which takes out growth and a weekday that differs),
 * and when both months had one, the range's top is multiplied by the smaller. Only the top: a burst is the
 * monthly pattern, a drop at month end is still a drop.
 *
 * No history, no alarm: a window is judged only when the meter counted usage at least 28 days before it
 * (so all four weekly points are real, not the emptiness before the tenant started).
 */
export const sensitivities = ['low', 'medium', 'high'] as const;
export type Sensitivity = (typeof sensitivities)[number];

/** Robust standard deviations from the centre a value may lie and still be expected. */
const WIDTH: Record<Sensitivity, number> = { low: 6, medium: 4, high: 3 };
const MAD_TO_SD = new Dec('1.4826');
const FLOOR_SHARE = new Dec('0.1');
const DAY = 24 * 3_600_000;
const WEEK = 7 * DAY;
export const WEEKS = 4;
export const HISTORY_DAYS = WEEKS * 7;

export type AnomalyWindow = Extract<Granularity, 'hour' | 'day'>;
export const anomalyWindows: readonly AnomalyWindow[] = ['hour', 'day'];

const weeksBefore = (window: AnomalyWindow, start: number) =>
  Array.from({ length: WEEKS }, (_, i) => periodKey(window, start - (i + 1) * WEEK));

export interface BaselineKeys {
  weekly: string[];
  monthly: { key: string; weekly: string[] }[];
}

/** The counter keys a window's baseline reads: the same window 1-4 weeks back, and its month-end analogues with theirs. */
export function baselineKeys(window: AnomalyWindow, start: number): BaselineKeys {
  const monthly = [1, 2].flatMap((back) => {
    const at = monthAnalogue(start, back);
    return at === undefined ? [] : [{ key: periodKey(window, at), weekly: weeksBefore(window, at) }];
  });
  return { weekly: weeksBefore(window, start), monthly };
}

/** The window as far before the end of the month `back` months earlier as `start` is before this month's end. */
function monthAnalogue(start: number, back: number): number | undefined {
  const monthStart = periodStart('month', start);
  const toEnd = nextPeriodStart('month', monthStart) - start;
  let earlier = monthStart;
  for (let i = 0; i < back; i++) earlier = periodStart('month', earlier - 1);
  const at = nextPeriodStart('month', earlier) - toEnd;
  // Only the last days of a month have an analogue counted from the end (a 31st has none in a 30-day month).
  return at >= earlier && toEnd <= 7 * DAY ? at : undefined;
}

export interface Baseline {
  /** The window's value 1-4 weeks back; a missing counter is 0 (nothing counted). */
  weekly: readonly string[];
  /** In a month's last week: the analogues' values, each with its own four weeks before. */
  monthly: readonly { value: string; weekly: readonly string[] }[];
  /** The meter's typical value per window (its median daily total over the history, per hour for hourly windows). */
  typical: string;
}

export interface ExpectedRange {
  expected: string;
  low: string;
  high: string;
}

/** Reads a counter's value ("0" when nothing was counted) of a window kind by its period key. */
export type WindowValues = (window: AnomalyWindow, key: string) => string;

/** The days a judgement reads: back far enough for the month-end analogues two months earlier and their four weeks. */
export function dayRange(start: number): { from: string; to: string } {
  return { from: periodKey('day', start - 92 * DAY), to: periodKey('day', start) };
}

/** The baseline of the window starting at `start`, from counters (hour keys of `baselineKeys`, days of `dayRange`). */
export function baselineOf(window: AnomalyWindow, start: number, value: WindowValues): Baseline {
  const keys = baselineKeys(window, start);
  const days = Array.from({ length: HISTORY_DAYS }, (_, i) => new Dec(value('day', periodKey('day', start - (i + 1) * DAY))));
  const daily = median(days);
  return {
    weekly: keys.weekly.map((k) => value(window, k)),
    monthly: keys.monthly.map((m) => ({ value: value(window, m.key), weekly: m.weekly.map((k) => value(window, k)) })),
    typical: (window === 'hour' ? daily.div(24) : daily).toFixed(),
  };
}

const median = (xs: readonly Dec[]): Dec => {
  const s = [...xs].sort((a, b) => a.comparedTo(b));
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : s[mid - 1]!.plus(s[mid]!).div(2);
};

export function expectedRange(b: Baseline, sensitivity: Sensitivity): ExpectedRange {
  const weekly = b.weekly.map((v) => new Dec(v));
  const centre = median(weekly);
  const mad = median(weekly.map((v) => v.minus(centre).abs()));
  const spread = Dec.max(mad.times(MAD_TO_SD), centre.times(FLOOR_SHARE), new Dec(b.typical).times(FLOOR_SHARE));
  const k = WIDTH[sensitivity];
  const low = Dec.max(0, centre.minus(spread.times(k)));
  let high = centre.plus(spread.times(k));
  const burst = monthEndBurst(b.monthly);
  if (burst) high = Dec.max(high, high.times(burst));
  return { expected: round(centre), low: round(low), high: round(high) };
}

/** How many times its usual level both month-end analogues were (the smaller), when both were above it. */
function monthEndBurst(monthly: Baseline['monthly']): Dec | undefined {
  if (monthly.length < 2) return undefined;
  const ratios = monthly.map((m) => {
    const usual = median(m.weekly.map((v) => new Dec(v)));
    return usual.isZero() ? new Dec(0) : new Dec(m.value).div(usual);
  });
  const burst = Dec.min(...ratios);
  return burst.greaterThan(1) ? burst : undefined;
}

const round = (d: Dec) => d.toDecimalPlaces(6).toFixed();

/** `spike` above the range, `drop` below it, undefined within. */
export function judge(observed: string, range: ExpectedRange): 'spike' | 'drop' | undefined {
  const v = new Dec(observed);
  if (v.greaterThan(range.high)) return 'spike';
  if (v.lessThan(range.low)) return 'drop';
  return undefined;
}

/** Enough history: the meter's first counted day is at least 28 days before the window. */
export function hasHistory(firstCounted: number | undefined, windowStart: number): boolean {
  return firstCounted !== undefined && windowStart - firstCounted >= HISTORY_DAYS * DAY;
}

/**
 * The newest window of the kind that ended at least `settle` ago: late-arriving events of the hour just
 * ended are still on their way for a moment, and a window is judged once.
 */
export function latestComplete(window: AnomalyWindow, now: number, settleMs: number): number {
  return periodStart(window, periodStart(window, now - settleMs) - 1);
}
