/** A one-line progress bar on stderr (redrawn in place on a terminal, a line per ~10% otherwise). */
export function progressBar(label: string): { update(done: number, total: number): void; end(): void } {
  const start = performance.now();
  const tty = process.stderr.isTTY;
  let lastTenth = -1;
  return {
    update(done, total) {
      const fraction = total === 0 ? 1 : done / total;
      const width = 30;
      const filled = Math.round(fraction * width);
      const rate = done / Math.max((performance.now() - start) / 1000, 0.001);
      const text = `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(fraction * 100).toFixed(0)}% ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} ${Math.round(rate).toLocaleString('en-US')}/s`;
      if (tty) process.stderr.write(`\r${text}`);
      else if (Math.floor(fraction * 10) > lastTenth) {
        lastTenth = Math.floor(fraction * 10);
        process.stderr.write(`${text}\n`);
      }
    },
    end() {
      if (tty) process.stderr.write('\n');
    },
  };
}

/** A status line on stderr for work of unknown size: redrawn in place on a terminal, printed when it changes otherwise. */
export function activityLine(): { update(text: string): void; end(): void } {
  const tty = process.stderr.isTTY;
  let last = '';
  return {
    update(text) {
      if (text === last) return;
      if (tty) process.stderr.write(`\r${text.padEnd(last.length)}`);
      else process.stderr.write(`${text}\n`);
      last = text;
    },
    end() {
      if (tty && last) process.stderr.write('\n');
    },
  };
}
