import type { CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { type FunctionName, functionSpecs } from '../../infra/catalog.js';
import { pascal } from '../../infra/names.js';
import type { MeterlineStack } from '../../infra/stack.js';
import { type TableName, tables } from '../../shared/platform/dynamo/tables.js';
import { resources, type Synthesized } from './synth.js';

/**
 * Each function's synthesized IAM policy, with its resources named as local/aws-calls.ts names them (`table/events`,
 * `table/tenants/index/gsi1`, `queue/usage`, `bus/meterline`, `secret/stripe`, `logs/<function>`,
 * `queue/<function>-failures`), and an evaluation of a recorded call against it as IAM would decide.
 */
export interface Statement {
  effect: 'Allow' | 'Deny';
  actions: string[];
  resources: string[];
  /** `ForAllValues:StringLike` on `dynamodb:LeadingKeys`, the one condition the stack uses. */
  leadingKeys?: string[];
}

/** A recorded call, parsed: `<action> <resource> [<partition key>]`. */
export interface Call {
  action: string;
  resource: string;
  key?: string;
}

export function parseCall(line: string): Call {
  const [action, resource, key] = line.split(' ') as [string, string, string | undefined];
  return { action, resource, ...(key !== undefined ? { key } : {}) };
}

/** The statements of every function's role, by function. */
export function policies(s: Synthesized): Record<FunctionName, Statement[]> {
  const names = resourceNames(s.stack);
  const logicalId = (c: IConstruct) => s.stack.getLogicalId(c.node.defaultChild as CfnElement);
  const byRole = new Map<string, FunctionName>(
    (Object.keys(functionSpecs) as FunctionName[]).map((name) => [logicalId(s.stack.functions.byName[name].role!), name]),
  );
  const out = Object.fromEntries([...byRole.values()].map((name) => [name, [] as Statement[]])) as Record<FunctionName, Statement[]>;
  for (const policy of Object.values(resources(s.template, 'AWS::IAM::Policy'))) {
    const owners = (policy.Properties!.Roles as { Ref: string }[]).map((r) => byRole.get(r.Ref)).filter((n) => n !== undefined);
    // Roles of CDK's own functions (the dashboard upload) are not the catalog's to check.
    if (owners.length === 0) continue;
    for (const raw of policy.Properties!.PolicyDocument.Statement as Record<string, any>[]) {
      const statement = toStatement(raw, names);
      for (const owner of owners) out[owner].push(statement);
    }
  }
  return out;
}

function toStatement(raw: Record<string, any>, names: Map<string, string>): Statement {
  const list = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);
  if (raw.NotAction || raw.NotResource) throw new Error(`the permission test cannot read NotAction or NotResource: ${JSON.stringify(raw)}`);
  const statement: Statement = {
    effect: raw.Effect,
    actions: list<string>(raw.Action),
    resources: list<unknown>(raw.Resource).map((r) => render(r, names)),
  };
  for (const [operator, keys] of Object.entries((raw.Condition ?? {}) as Record<string, Record<string, unknown>>)) {
    for (const [key, values] of Object.entries(keys)) {
      if (operator !== 'ForAllValues:StringLike' || key !== 'dynamodb:LeadingKeys')
        throw new Error(`the permission test cannot evaluate the condition ${operator} ${key}; teach it (tests/infra/permissions.ts)`);
      statement.leadingKeys = list(values as string | string[]);
    }
  }
  return statement;
}

/** A policy resource as a name: the stack's own resources by their record names, anything else by its logical id. */
function render(value: unknown, names: Map<string, string>): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, any>;
  if (v['Fn::GetAtt']) return names.get(v['Fn::GetAtt'][0]) ?? `cfn:${v['Fn::GetAtt'][0]}`;
  if (v.Ref) return names.get(v.Ref) ?? `cfn:${v.Ref}`;
  if (v['Fn::Join']) return (v['Fn::Join'][1] as unknown[]).map((part) => render(part, names)).join(v['Fn::Join'][0]);
  return JSON.stringify(value);
}

function resourceNames(stack: MeterlineStack): Map<string, string> {
  const names = new Map<string, string>();
  const add = (construct: IConstruct, name: string) => names.set(stack.getLogicalId(construct.node.defaultChild as CfnElement), name);
  for (const table of Object.keys(tables) as TableName[]) add(stack.tables.byName[table], `table/${table}`);
  for (const [queue, name] of [
    [stack.usageQueue, 'usage'],
    [stack.webhookQueue, 'webhooks'],
    [stack.reportQueue, 'reports'],
    [stack.email.queue, 'emails'],
  ] as const) {
    add(queue.queue, `queue/${name}`);
    add(queue.deadLetterQueue, `queue/${name}-dlq`);
  }
  add(stack.node.findChild('EventBus'), 'bus/meterline');
  for (const secret of stack.node.findChild('Secrets').node.children) add(secret, `secret/${secret.node.id}`);
  for (const name of Object.keys(functionSpecs)) add(stack.functions.node.findChild(`${pascal(name)}Logs`), `logs/${name}`);
  for (const job of stack.schedules.jobs) add(job.failureQueue, `queue/${job.name}-failures`);
  return names;
}

/** IAM's wildcards: `*` any run of characters, `?` one; actions compare case-insensitively. */
const like = (pattern: string, value: string, flags = '') =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replaceAll('*', '.*')
      .replaceAll('?', '.')}$`,
    flags,
  ).test(value);

/**
 * Whether a statement covers a call. A recorded key has its variable parts as `*`, read here as a literal
 * character: a pattern allows it only when its own wildcard covers them. A call without a partition key (a Scan)
 * satisfies a ForAllValues condition, as it does in IAM: the condition holds over an empty set of keys.
 */
export function covers(statement: Statement, call: Call): boolean {
  if (!statement.actions.some((a) => like(a, call.action, 'i'))) return false;
  if (!statement.resources.some((r) => like(r, call.resource))) return false;
  if (!statement.leadingKeys || call.key === undefined) return true;
  return statement.leadingKeys.some((pattern) => like(pattern, call.key!));
}

/** IAM's decision: an explicit deny wins, then any allow; nothing else is allowed. */
export function allows(statements: Statement[], call: Call): boolean {
  const matching = statements.filter((s) => covers(s, call));
  return matching.some((s) => s.effect === 'Allow') && !matching.some((s) => s.effect === 'Deny');
}

/** A policy's allow statements, one grant per action and resource, as a line: `<action> <resource> [LeadingKeys <patterns>]`. */
export interface Grant {
  statement: Statement;
  action: string;
  resource: string;
  line: string;
}

export function grants(statements: Statement[]): Grant[] {
  return statements
    .filter((s) => s.effect === 'Allow')
    .flatMap((statement) =>
      statement.actions.flatMap((action) =>
        statement.resources.map((resource) => ({
          statement,
          action,
          resource,
          line: `${action} ${resource}${statement.leadingKeys ? ` LeadingKeys ${statement.leadingKeys.join(',')}` : ''}`,
        })),
      ),
    );
}

/** Whether a call uses a grant: the grant's one action on its one resource, under its condition, covers it. */
export const uses = (call: Call, grant: Grant): boolean =>
  covers({ ...grant.statement, actions: [grant.action], resources: [grant.resource] }, call);
