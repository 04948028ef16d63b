import type { Output } from './command.js';

/** A one-line progress bar on `out`, stderr (redrawn in place on a terminal, a line per ~10% otherwise). */
export function progressBar(label: string, out: Output): { update(done: number, total: number): void; end(): void } {
  const start = performance.now();
  const tty = out.isTTY;
  let lastTenth = -1;
  return {
    update(done, total) {
      const fraction = total === 0 ? 1 : done / total;
      const width = 30;
      const filled = Math.round(fraction * width);
      const rate = done / Math.max((performance.now() - start) / 1000, 0.001);
      const text = `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(fraction * 100).toFixed(0)}% ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} ${Math.round(rate).toLocaleString('en-US')}/s`;
      if (tty) out.write(`\r${text}`);
      else if (Math.floor(fraction * 10) > lastTenth) {
        lastTenth = Math.floor(fraction * 10);
        out.write(`${text}\n`);
      }
    },
    end() {
      if (tty) out.write('\n');
    },
  };
}

/** A status line on `out`, stderr, for work of unknown size: redrawn in place on a terminal, printed when it changes otherwise. */
export function activityLine(out: Output): { update(text: string): void; end(): void } {
  const tty = out.isTTY;
  let last = '';
  return {
    update(text) {
      if (text === last) return;
      if (tty) out.write(`\r${text.padEnd(last.length)}`);
      else out.write(`${text}\n`);
      last = text;
    },
    end() {
      if (tty && last) out.write('\n');
    },
  };
}
