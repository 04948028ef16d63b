import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { bucketLabel } from './format.js';

export interface Series {
  label: string;
  /** Decimal strings from the API (null: no reading); converted to numbers only to place points on screen. */
  values: (string | null)[];
}

const COLORS = ['#0b57d0', '#b3261e', '#146c2e', '#7d5260', '#8a5a00', '#006a6a', '#5b3fb3', '#3d5a80'];

/**
 * A uPlot time chart sized to its container, its axis and legend on the tenant's clock (`timeZone`): a bucket is
 * labelled by the local day (or hour) it is.
 */
export function Chart({
  times,
  series,
  unit,
  title,
  timeZone,
  granularity,
}: {
  times: number[];
  series: Series[];
  unit: string;
  title: string;
  timeZone: string;
  granularity: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = () => Math.max(280, el.clientWidth);
    const plot = new uPlot(
      {
        width: width(),
        height: 240,
        tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), timeZone),
        series: [
          { value: (_u: uPlot, seconds: number | null) => (seconds === null ? '—' : bucketLabel(seconds * 1000, granularity, timeZone)) },
          ...series.map((s, i) => ({
            label: s.label,
            stroke: COLORS[i % COLORS.length]!,
            width: 2,
            value: (_u: uPlot, v: number | null) => (v === null ? '—' : `${v.toLocaleString('en-US')} ${unit}`),
          })),
        ],
        // Monthly points are few and far apart: the axis marks each one by its month rather than uPlot's day ticks.
        axes: [
          granularity === 'month'
            ? {
                splits: (u: uPlot) => [...(u.data[0] as number[])],
                values: (_u: uPlot, splits: number[]) => splits.map((s) => bucketLabel(s * 1000, granularity, timeZone)),
              }
            : {},
          { size: 60 },
        ],
        scales: { x: { time: true } },
        legend: { live: true },
      },
      [times.map((t) => t / 1000), ...series.map((s) => s.values.map((v) => (v === null ? null : Number(v))))] as uPlot.AlignedData,
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: width(), height: 240 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [times, series, unit, timeZone, granularity]);
  return <div class="chart" ref={box} role="img" aria-label={title} />;
}
