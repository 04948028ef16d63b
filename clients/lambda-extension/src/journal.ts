import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { components } from '../../node/src/api.js';

export type NativeEvent = components['schemas']['NativeEvent'];

/** Past this size the journal is rewritten with only what is still pending. */
const COMPACT_AT_BYTES = 8 * 1024 * 1024;

/**
 * The events the extension holds and has not yet seen settled, as lines appended to one file: `{"add":[events]}` when
 * the function hands events over (before the hand-over is answered), `{"done":[ids]}` when Meterline has answered for
 * them. An extension restarted in the same environment reads it back and sends what is pending again, with the same
 * ids, so what was sent but not yet marked done is a duplicate Meterline drops. Appends reach the kernel before the
 * answer; a process crash keeps them, the loss of the environment does not.
 */
export class Journal {
  private readonly file: string;
  private readonly pending = new Map<string, NativeEvent>();

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, 'journal.ndjson');
    if (existsSync(this.file)) this.replay(readFileSync(this.file, 'utf8'));
  }

  /** What an earlier process left pending, in the order it was handed over. */
  events(): NativeEvent[] {
    return [...this.pending.values()];
  }

  get size(): number {
    return this.pending.size;
  }

  add(events: NativeEvent[]): void {
    appendFileSync(this.file, `${JSON.stringify({ add: events })}\n`);
    for (const e of events) this.pending.set(e.id, e);
  }

  done(ids: string[]): void {
    for (const id of ids) this.pending.delete(id);
    if (this.pending.size === 0) truncateSync(this.file, 0);
    else {
      appendFileSync(this.file, `${JSON.stringify({ done: ids })}\n`);
      if (statSync(this.file).size > COMPACT_AT_BYTES) this.compact();
    }
  }

  private compact(): void {
    const next = `${this.file}.next`;
    writeFileSync(next, `${JSON.stringify({ add: this.events() })}\n`);
    renameSync(next, this.file);
  }

  private replay(text: string): void {
    for (const line of text.split('\n')) {
      // A line cut short by a crash mid-append was never answered: its events went to Meterline directly instead.
      let entry: { add?: NativeEvent[]; done?: string[] };
      try {
        entry = JSON.parse(line);
      } catch {
        continue;
      }
      for (const e of entry.add ?? []) this.pending.set(e.id, e);
      for (const id of entry.done ?? []) this.pending.delete(id);
    }
  }
}
