import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoEvents, postEvents } from '../local/demo-usage.js';
import { npmStart } from '../local/npm-start-process.js';
import { printTable } from './report.js';

/**
 * `npm start` on a month of stored data: a first start (which seeds the demo tenant with the month so far), the rest of
 * a month's demo volume posted on top (copies of the month so far under new ids, since only open periods take events),
 * Ctrl-C, then the second start, timed to its banner, with the disk the data takes.
 */
export async function restart() {
  const stateDir = mkdtempSync(join(tmpdir(), 'meterline-restart-'));
  try {
    let t = performance.now();
    const first = await npmStart(stateDir);
    const firstSeconds = (performance.now() - t) / 1000;
    const { tenantKey } = first.saved();
    const month = demoEvents();
    // About 5,500 to 5,700 events make the demo's whole month (docs/local.md).
    const copies = Math.max(0, Math.ceil(5_600 / Math.max(1, month.length)) - 1);
    let stored = month.length;
    for (let c = 1; c <= copies; c++) {
      stored += await postEvents(
        first.apiUrl,
        tenantKey,
        month.map((e) => ({ ...e, id: `${e.id}-copy-${c}` })),
      );
    }
    await first.interrupt();
    const disk = execFileSync('du', ['-sh', stateDir], { encoding: 'utf8' }).split('\t')[0];

    t = performance.now();
    const second = await npmStart(stateDir);
    const secondSeconds = (performance.now() - t) / 1000;
    await second.interrupt();
    printTable('npm start on a month of stored demo data (first start seeds the month so far; the rest is posted on top)', [
      {
        'events stored': stored,
        'first start s': firstSeconds.toFixed(1),
        'disk after Ctrl-C': disk!,
        'second start s': secondSeconds.toFixed(1),
      },
    ]);
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}
