/**
 * Readable output for people: an array of records as a table, a record as aligned `key  value` lines (a list inside
 * it as a table under its name). `--json` prints the answer as the API gave it instead, for scripts.
 */
export function render(value: unknown): string {
  if (Array.isArray(value)) return table(value);
  if (value === null || typeof value !== 'object') return String(value ?? '');
  const entries = Object.entries(value as Record<string, unknown>);
  const scalars = entries.filter(([, v]) => !isRecordList(v));
  const lists = entries.filter(([, v]) => isRecordList(v)) as [string, Record<string, unknown>[]][];
  const width = Math.max(0, ...scalars.map(([k]) => k.length));
  const lines = scalars.map(([k, v]) => `${k.padEnd(width)}  ${cell(v, 100)}`);
  for (const [k, list] of lists) lines.push(...(lines.length ? [''] : []), `${k} (${list.length})`, table(list));
  return lines.join('\n');
}

const isRecordList = (v: unknown): v is Record<string, unknown>[] =>
  Array.isArray(v) && v.length > 0 && v.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x));

export function table(rows: readonly unknown[]): string {
  if (rows.length === 0) return '(none)';
  if (!isRecordList(rows)) return rows.map((r) => cell(r, 100)).join('\n');
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cells = rows.map((r) => columns.map((c) => cell(r[c], 48)));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

function cell(v: unknown, max: number): string {
  const s = v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
