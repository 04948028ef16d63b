import type { CfnElement } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { type FunctionName, functionSpecs } from '../../infra/catalog.js';
import { resources, synth } from '../infra/synth.js';

/**
 * The export bucket's grants live in managed policies beside the bucket (infra/usage-export.ts), which the permission
 * record does not cover (local runs write a directory, not S3): each is held here, statement by statement.
 */
describe("the usage export bucket's grants", () => {
  it('lets the export function write its files and progress, the export API only read them, and no other function in', () => {
    const s = synth('prod');
    const bucket = s.stack.getLogicalId(s.stack.usageExport.bucket.node.defaultChild as CfnElement);
    const roleOf = new Map(
      (Object.keys(functionSpecs) as FunctionName[]).map((name) => [
        s.stack.getLogicalId(s.stack.functions.byName[name].role!.node.defaultChild as CfnElement),
        name,
      ]),
    );
    const grants: Record<string, { actions: string[]; resources: string; condition?: unknown }[]> = {};
    for (const policy of Object.values(resources(s.template, 'AWS::IAM::ManagedPolicy'))) {
      const statements = policy.Properties!.PolicyDocument.Statement as Record<string, any>[];
      if (!JSON.stringify(statements).includes(bucket)) continue;
      for (const role of policy.Properties!.Roles as { Ref: string }[]) {
        const name = roleOf.get(role.Ref) ?? role.Ref;
        grants[name] = statements.map((st) => ({
          actions: [st.Action].flat().sort(),
          resources: JSON.stringify(st.Resource).replaceAll(/\{"Fn::GetAtt":\["\w+","Arn"\]\}/g, 'bucket'),
          ...(st.Condition ? { condition: st.Condition } : {}),
        }));
      }
    }
    const prefix = { StringLike: { 's3:prefix': ['usage/*'] } };
    expect(grants).toEqual({
      'usage-export': [
        { actions: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'], resources: '{"Fn::Join":["",[bucket,"/usage/*"]]}' },
        { actions: ['s3:GetObject', 's3:PutObject'], resources: '{"Fn::Join":["",[bucket,"/state/export.json"]]}' },
        { actions: ['s3:ListBucket'], resources: 'bucket', condition: prefix },
      ],
      'usage-export-api': [
        {
          actions: ['s3:GetObject'],
          resources: '[{"Fn::Join":["",[bucket,"/state/export.json"]]},{"Fn::Join":["",[bucket,"/usage/*"]]}]',
        },
        { actions: ['s3:ListBucket'], resources: 'bucket', condition: prefix },
      ],
    });
  }, 300_000);
});
