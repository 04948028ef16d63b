import { readFileSync } from 'node:fs';
import { seedMeters } from '../../shared/metering/seed-meters.js';
import { call } from './client.js';
import { type Command, need, type Option, tenantOption, text, UsageError, type Values } from './command.js';

const enc = encodeURIComponent;
const keyOption: Record<string, Option> = { key: { type: 'string', description: 'key id', required: true, value: '<keyId>' } };
const rateLimitOptions: Record<string, Option> = {
  ingest: { type: 'string', description: 'POST /v1/events requests per second', value: '<n>|default' },
  read: { type: 'string', description: 'GET requests per second', value: '<n>|default' },
};
/** `--ingest 300 --read default` as the rate-limits body: a number sets a bucket, `default` clears it, absent keeps it. */
function rateLimitSettings(f: Values): Record<string, number | null> {
  const settings: Record<string, number | null> = {};
  for (const name of ['ingest', 'read']) {
    const value = text(f, name);
    if (value === undefined) continue;
    if (value !== 'default' && !/^\d+$/.test(value))
      throw new UsageError(`--${name} takes a whole number of requests per second, or "default"`);
    settings[name] = value === 'default' ? null : Number(value);
  }
  return settings;
}
const nameOption = (fallback: string): Record<string, Option> => ({
  name: { type: 'string', description: `a name to recognise it by (default "${fallback}")`, value: '<name>' },
});

/** Tenants, their meters and API keys, and admin keys. */
export const tenantCommands: Command[] = [
  {
    name: 'tenants create',
    summary: 'create a tenant',
    options: {
      name: { type: 'string', description: 'display name', required: true, value: '"Optical Labs"' },
      tenant: { type: 'string', description: 'tenant id, as every other command names it (default: from the name)', value: '<id>' },
      id: { type: 'string', description: 'the same as --tenant (kept for scripts written before)', value: '<id>' },
      'seed-meters': { type: 'boolean', description: 'define the seed meters (orders, invoices, api_calls, ...)' },
    },
    run: async (f, t) => {
      const [tenant, alias] = [text(f, 'tenant'), text(f, 'id')];
      if (tenant && alias && tenant !== alias) throw new UsageError('--tenant and --id name the same thing: give one');
      const id = tenant ?? alias;
      const created = (await call(t(), 'POST', '/v1/admin/tenants', { name: need(f, 'name'), ...(id ? { id } : {}) })) as { id: string };
      if (f['seed-meters']) {
        for (const { key, ...definition } of seedMeters)
          await call(t(), 'PUT', `/v1/admin/tenants/${enc(created.id)}/meters/${key}`, definition);
      }
      return created;
    },
  },
  { name: 'tenants list', summary: 'list tenants', options: {}, run: (_f, t) => call(t(), 'GET', '/v1/admin/tenants') },
  {
    name: 'tenants show',
    summary: 'show one tenant',
    options: tenantOption,
    run: (f, t) => call(t(), 'GET', `/v1/admin/tenants/${enc(need(f, 'tenant'))}`),
  },
  {
    name: 'tenants rate-limits',
    summary: "set a tenant's rate limits, requests per second ('default' goes back to the default); shown by tenants show",
    options: { ...tenantOption, ...rateLimitOptions },
    run: (f, t) => call(t(), 'PUT', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/rate-limits`, rateLimitSettings(f)),
  },
  {
    name: 'meters list',
    summary: "list a tenant's meters",
    options: tenantOption,
    run: (f, t) => call(t(), 'GET', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/meters`),
  },
  {
    name: 'meters put',
    summary: 'define a meter (its aggregation, value property and group-by cannot change later)',
    options: {
      ...tenantOption,
      meter: { type: 'string', description: 'meter key', required: true, value: '<key>' },
      aggregation: { type: 'string', description: 'how events fold', value: 'SUM|COUNT|MAX|LATEST|UNIQUE_COUNT' },
      unit: { type: 'string', description: 'unit shown on invoices', value: '<unit>' },
      name: { type: 'string', description: 'display name (default: the key)', value: '<name>' },
      'value-property': { type: 'string', description: 'property holding the value', value: '<property>' },
      'group-by': { type: 'string', description: 'up to three properties that split the counters', value: 'a,b' },
      file: { type: 'string', description: 'the definition as JSON, instead of the options above', value: 'meter.json' },
    },
    run: (f, t) => {
      const file = text(f, 'file');
      const valueProperty = text(f, 'value-property');
      const groupBy = text(f, 'group-by');
      const definition = file
        ? JSON.parse(readFileSync(file, 'utf8'))
        : {
            name: text(f, 'name') ?? need(f, 'meter'),
            unit: need(f, 'unit'),
            aggregation: need(f, 'aggregation'),
            ...(valueProperty ? { valueProperty } : {}),
            groupBy: groupBy ? groupBy.split(',') : [],
          };
      return call(t(), 'PUT', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/meters/${enc(need(f, 'meter'))}`, definition);
    },
  },
  {
    name: 'keys create',
    summary: 'issue a tenant API key (its token is shown once)',
    options: { ...tenantOption, ...nameOption('default'), read: { type: 'boolean', description: 'read-only key (scope "read")' } },
    run: (f, t) =>
      call(t(), 'POST', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/api-keys`, {
        name: text(f, 'name') ?? 'default',
        ...(f.read ? { scope: 'read' } : {}),
      }),
  },
  {
    name: 'keys list',
    summary: "list a tenant's API keys",
    options: tenantOption,
    run: (f, t) => call(t(), 'GET', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/api-keys`),
  },
  {
    name: 'keys revoke',
    summary: 'revoke a tenant API key',
    options: { ...tenantOption, ...keyOption },
    run: (f, t) => call(t(), 'DELETE', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/api-keys/${enc(need(f, 'key'))}`),
  },
  {
    name: 'admin-keys create',
    summary: 'issue an admin API key (its token is shown once)',
    options: nameOption('admin'),
    run: (f, t) => call(t(), 'POST', '/v1/admin/api-keys', { name: text(f, 'name') ?? 'admin' }),
  },
  { name: 'admin-keys list', summary: 'list admin API keys', options: {}, run: (_f, t) => call(t(), 'GET', '/v1/admin/api-keys') },
  {
    name: 'admin-keys revoke',
    summary: 'revoke an admin API key',
    options: keyOption,
    run: (f, t) => call(t(), 'DELETE', `/v1/admin/api-keys/${enc(need(f, 'key'))}`),
  },
  {
    name: 'service-keys create',
    summary: 'issue a service key (posts usage for every tenant, or the listed ones)',
    options: { ...nameOption('service'), tenants: { type: 'string', description: 'only these tenants', value: 'a,b' } },
    run: (f, t) => {
      const tenants = text(f, 'tenants');
      return call(t(), 'POST', '/v1/admin/service-keys', {
        name: text(f, 'name') ?? 'service',
        ...(tenants ? { tenants: tenants.split(',') } : {}),
      });
    },
  },
  { name: 'service-keys list', summary: 'list service keys', options: {}, run: (_f, t) => call(t(), 'GET', '/v1/admin/service-keys') },
  {
    name: 'service-keys rate-limits',
    summary: "set a service key's rate limits, requests per second ('default' goes back to the default)",
    options: { ...keyOption, ...rateLimitOptions },
    run: (f, t) => call(t(), 'PUT', `/v1/admin/service-keys/${enc(need(f, 'key'))}/rate-limits`, rateLimitSettings(f)),
  },
  {
    name: 'service-keys revoke',
    summary: 'revoke a service key',
    options: keyOption,
    run: (f, t) => call(t(), 'DELETE', `/v1/admin/service-keys/${enc(need(f, 'key'))}`),
  },
];
