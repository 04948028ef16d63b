import { readFileSync } from 'node:fs';
import { seedMeters } from '../../shared/metering/seed-meters.js';
import { call } from './client.js';
import { type Command, need } from './command.js';

const enc = encodeURIComponent;

export const tenantCommands: Command[] = [
  {
    name: 'tenants create',
    usage: '--name "Optical Labs" [--id optical-labs] [--seed-meters]',
    run: async (f, t) => {
      const tenant = (await call(t(), 'POST', '/v1/admin/tenants', { name: need(f, 'name'), ...(f.id ? { id: f.id } : {}) })) as {
        id: string;
      };
      if (f['seed-meters'] !== undefined) {
        for (const { key, ...definition } of seedMeters)
          await call(t(), 'PUT', `/v1/admin/tenants/${enc(tenant.id)}/meters/${key}`, definition);
      }
      return tenant;
    },
  },
  { name: 'tenants list', usage: '', run: (_f, t) => call(t(), 'GET', '/v1/admin/tenants') },
  { name: 'tenants show', usage: '--tenant <id>', run: (f, t) => call(t(), 'GET', `/v1/admin/tenants/${enc(need(f, 'tenant'))}`) },
  {
    name: 'meters put',
    usage:
      '--tenant <id> --meter <key> --aggregation SUM|COUNT|MAX|LATEST|UNIQUE_COUNT --unit <unit> [--name <name>] [--value-property p] [--group-by a,b] | --file meter.json',
    run: (f, t) => {
      const definition = f.file
        ? JSON.parse(readFileSync(f.file, 'utf8'))
        : {
            name: f.name ?? need(f, 'meter'),
            unit: need(f, 'unit'),
            aggregation: need(f, 'aggregation'),
            ...(f['value-property'] ? { valueProperty: f['value-property'] } : {}),
            groupBy: f['group-by'] ? f['group-by'].split(',') : [],
          };
      return call(t(), 'PUT', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/meters/${enc(need(f, 'meter'))}`, definition);
    },
  },
  {
    name: 'keys create',
    usage: '--tenant <id> [--name ci]',
    run: (f, t) => call(t(), 'POST', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/api-keys`, { name: f.name ?? 'default' }),
  },
  { name: 'keys list', usage: '--tenant <id>', run: (f, t) => call(t(), 'GET', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/api-keys`) },
  {
    name: 'keys revoke',
    usage: '--tenant <id> --key <keyId>',
    run: (f, t) => call(t(), 'DELETE', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/api-keys/${enc(need(f, 'key'))}`),
  },
  { name: 'admin-keys create', usage: '[--name ops]', run: (f, t) => call(t(), 'POST', '/v1/admin/api-keys', { name: f.name ?? 'admin' }) },
  { name: 'admin-keys list', usage: '', run: (_f, t) => call(t(), 'GET', '/v1/admin/api-keys') },
  { name: 'admin-keys revoke', usage: '--key <keyId>', run: (f, t) => call(t(), 'DELETE', `/v1/admin/api-keys/${enc(need(f, 'key'))}`) },
];
