import { tableName } from '../platform/dynamo/tables.js';
import { DynamoTenantDirectory } from '../tenancy/adapters/tenant-directory.js';
import { dynamo } from './clients.js';

export const tenantDirectory = () => new DynamoTenantDirectory(dynamo(), tableName('tenants'));
