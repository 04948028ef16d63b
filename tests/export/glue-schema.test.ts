import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { duckType, queryUsage } from '../../local/usage-sql.js';
import { encodeParquet } from '../../shared/metering/adapters/parquet.js';
import { resources, synth } from '../infra/synth.js';

describe('the Glue table and the local files', () => {
  it('declare the same columns with the same types, as DuckDB reads them from the files', async () => {
    const template = synth('prod').template;
    const [table] = Object.values(resources(template, 'AWS::Glue::Table'));
    const input = table!.Properties!.TableInput as {
      StorageDescriptor: { Columns: { Name: string; Type: string }[] };
      PartitionKeys: { Name: string; Type: string }[];
      Parameters: Record<string, string>;
    };
    expect(input.Parameters['projection.enabled']).toBe('true');
    const declared = [...input.StorageDescriptor.Columns, ...input.PartitionKeys].map((c) => ({ name: c.Name, type: duckType(c.Type) }));

    const dir = mkdtempSync(join(tmpdir(), 'meterline-glue-'));
    const partition = join(dir, 'usage', 'tenant=a', 'day=2026-11-01');
    mkdirSync(partition, { recursive: true });
    const row = { tenant: 'a', day: '2026-11-01', event_id: 'e', meter: 'm', aggregation: 'SUM', value: '1.5' };
    const times = {
      event_time: '2026-11-01T00:00:00.000Z',
      received_at: '2026-11-01T00:00:00.000Z',
      counted_at: '2026-11-01T00:00:00.000Z',
    };
    writeFileSync(join(partition, 'part-00000.parquet'), encodeParquet([{ ...row, ...times, group_key: '' }]));
    const described = await queryUsage(dir, 'DESCRIBE usage').finally(() => rmSync(dir, { recursive: true, force: true }));
    // DuckDB appends the path's partition columns in an order of its own.
    const byName = (a: { name: unknown }, b: { name: unknown }) => String(a.name).localeCompare(String(b.name));
    expect(described.map((c) => ({ name: c.column_name, type: c.column_type })).sort(byName)).toEqual(declared.sort(byName));
  }, 120_000);
});
