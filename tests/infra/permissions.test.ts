import { beforeAll, describe, expect, it } from 'vitest';
import { type FunctionName, functionSpecs } from '../../infra/catalog.js';
import { type AwsCallRecord, readRecord, regenerate } from '../../local/aws-calls.js';
import { allows, type Grant, grants, parseCall, policies, type Statement, uses } from './permissions.js';
import { synth } from './synth.js';
import { type UnusedGrant, unusedGrants } from './unused-grants.js';

// Every AWS call the functions made while the suite and `npm start` ran (local/aws-calls.ts), held against each
// function's synthesized IAM policy: what the code calls must be allowed, and what is allowed must be called.
const record: AwsCallRecord = readRecord();
const names = Object.keys(functionSpecs) as FunctionName[];
const calls = (name: FunctionName) => (record[name] ?? []).map(parseCall);

let policy: Record<FunctionName, Statement[]>;
// A whole stack through cdk-nag when no other file of this process has synthesized it: minutes on a busy machine.
beforeAll(() => {
  policy = policies(synth('prod'));
}, 600_000);

const acknowledges = (ack: UnusedGrant, name: FunctionName, grant: Grant) =>
  (!ack.functions || ack.functions.includes(name)) &&
  ack.actions.includes(grant.action) &&
  ack.resources.some((resource) => new RegExp(`^${resource.replaceAll('*', '.*')}$`).test(grant.resource)) &&
  (!ack.besideUse || calls(name).some((call) => call.resource === grant.resource && ack.besideUse!.includes(call.action)));

describe('permissions', () => {
  it('holds a record of every function that touches AWS, and of no other function', () => {
    expect(Object.keys(record).filter((name) => !names.includes(name as FunctionName))).toEqual([]);
    // openapi serves a document it carries; every other function reads or writes something.
    const silent = names.filter((name) => calls(name).length === 0);
    expect(silent, `functions without recorded calls; regenerate with: ${regenerate}`).toEqual(['openapi']);
  });

  it('allows every call each function makes', () => {
    const refused = names.flatMap((name) =>
      calls(name)
        .filter((call) => !allows(policy[name], call))
        .map((call) => `${name} may not call ${call.action} on ${call.resource}${call.key ? ` (partition ${call.key})` : ''}`),
    );
    expect(refused).toEqual([]);
  });

  it('grants nothing that no call uses, unless acknowledged with its reason', () => {
    const unused = names.flatMap((name) =>
      grants(policy[name])
        .filter((grant) => !calls(name).some((call) => uses(call, grant)))
        .map((grant) => ({ name, grant })),
    );
    const unexplained = unused.filter(({ name, grant }) => !unusedGrants.some((ack) => acknowledges(ack, name, grant)));
    expect(
      unexplained.map(({ name, grant }) => `${name} ${grant.line}`),
      'unused grants: remove them, or acknowledge them in tests/infra/unused-grants.ts',
    ).toEqual([]);
    // An acknowledgement nothing needs any more goes.
    const stale = unusedGrants.filter((ack) => !unused.some(({ name, grant }) => acknowledges(ack, name, grant)));
    expect(stale.map((ack) => ack.reason)).toEqual([]);
  });

  it('refuses a call the policy does not grant, naming function, action and resource', () => {
    // What the test says when a store starts scanning a table its function may not scan.
    const planted = parseCall('dynamodb:Scan table/counters');
    expect(allows(policy.usage, planted)).toBe(false);
    expect(allows(policy['recompute-worker'], parseCall('dynamodb:Scan table/events'))).toBe(true);
    expect(allows(policy['recompute-worker'], parseCall('dynamodb:Scan table/tenants'))).toBe(false);
  });

  it('evaluates partition conditions with their wildcards: tenant-reachable functions never reach an API key', () => {
    for (const name of ['alerts', 'dashboard-sessions', 'billing-admin', 'alert-evaluator'] as const) {
      expect(allows(policy[name], parseCall('dynamodb:PutItem table/tenants APIKEY#*')), name).toBe(false);
      expect(allows(policy[name], parseCall('dynamodb:UpdateItem table/tenants APIKEY#*')), name).toBe(false);
    }
    expect(allows(policy.alerts, parseCall('dynamodb:PutItem table/tenants TENANT#*'))).toBe(true);
    expect(allows(policy['alert-evaluator'], parseCall('dynamodb:Query table/tenants/index/gsi1 TENANTS'))).toBe(true);
    expect(allows(policy['alert-evaluator'], parseCall('dynamodb:Query table/tenants/index/gsi1 TENANT#*#APIKEYS'))).toBe(false);
    expect(allows(policy['dashboard-sessions'], parseCall('dynamodb:PutItem table/tenants SESSION#*'))).toBe(true);
    expect(allows(policy['dashboard-sessions'], parseCall('dynamodb:PutItem table/tenants TENANT#*'))).toBe(false);
  });
});
