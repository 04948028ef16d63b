import { join } from 'node:path';
import { localStateDir, readLocalState } from '../../local/state.js';
import { type Command, need, text } from './command.js';
import { table } from './render.js';

/**
 * `usage sql "<SQL>"`: SQL over the Parquet export, table `usage` (docs/usage-export.md). Against `npm start` it runs
 * the export first (so what was just counted is there) and queries .meterline/export/ with DuckDB; against AWS it
 * runs on Athena in the stack's workgroup (METERLINE_ATHENA_WORKGROUP or --workgroup), whose scan limit holds.
 */
export const usageSqlCommand: Command = {
  name: 'usage sql',
  summary: 'SQL over the usage export (table usage): DuckDB under npm start, Athena in AWS',
  positional: 'query',
  options: {
    query: { type: 'string', description: 'the SQL (or give it as the argument after `usage sql`)', value: '<SQL>' },
    workgroup: { type: 'string', description: 'Athena workgroup (default: METERLINE_ATHENA_WORKGROUP)', value: '<name>' },
  },
  notes: 'e.g. npm run admin -- usage sql "SELECT meter, count(*), sum(value) FROM usage WHERE tenant = \'demo\' GROUP BY meter"',
  async run(values, target) {
    const sql = need(values, 'query');
    const workgroup = text(values, 'workgroup') ?? process.env.METERLINE_ATHENA_WORKGROUP;
    const local = readLocalState();
    if (!workgroup && local) {
      const res = await fetch(`${target().apiUrl}/_local/schedules/usage-export`, { method: 'POST' });
      if (!res.ok) throw new Error(`the local export did not run (${res.status}): is npm start running?`);
      // DuckDB and the Athena client load only for this command: every other command starts without them.
      const { queryUsage } = await import('../../local/usage-sql.js');
      return queryUsage(join(localStateDir(), 'export'), sql);
    }
    if (!workgroup)
      throw new Error('no Athena workgroup: pass --workgroup or set METERLINE_ATHENA_WORKGROUP (the stack output UsageQueryWorkGroup)');
    return athena(workgroup, sql);
  },
  render: (result) => table(result as Record<string, unknown>[]),
};

async function athena(workgroup: string, sql: string): Promise<Record<string, string | undefined>[]> {
  const { AthenaClient, GetQueryExecutionCommand, GetQueryResultsCommand, StartQueryExecutionCommand } = await import(
    '@aws-sdk/client-athena'
  );
  const client = new AthenaClient({});
  const { QueryExecutionId } = await client.send(new StartQueryExecutionCommand({ QueryString: sql, WorkGroup: workgroup }));
  for (;;) {
    const { QueryExecution } = await client.send(new GetQueryExecutionCommand({ QueryExecutionId }));
    const state = QueryExecution?.Status?.State;
    if (state === 'SUCCEEDED') break;
    if (state === 'FAILED' || state === 'CANCELLED') throw new Error(`Athena: ${QueryExecution?.Status?.StateChangeReason ?? state}`);
    await new Promise((done) => setTimeout(done, 500));
  }
  const rows: Record<string, string | undefined>[] = [];
  let names: string[] | undefined;
  let token: string | undefined;
  do {
    const page = await client.send(new GetQueryResultsCommand({ QueryExecutionId, NextToken: token }));
    names ??= (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => c.Name!);
    // The first row of the first page repeats the column names.
    const data = page.ResultSet?.Rows ?? [];
    for (const row of token === undefined ? data.slice(1) : data)
      rows.push(Object.fromEntries(names.map((n, i) => [n, row.Data?.[i]?.VarCharValue])));
    token = page.NextToken;
  } while (token);
  return rows;
}
