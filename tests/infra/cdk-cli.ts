import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const root = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

/** What an operator's shell holds: the test runner's environment without its region, plus the one a case sets. */
function operatorEnv(region: string | undefined): NodeJS.ProcessEnv {
  const { AWS_REGION, AWS_DEFAULT_REGION, CDK_DEFAULT_REGION, ...env } = process.env;
  return region ? { ...env, AWS_REGION: region } : env;
}

interface Template {
  Resources: Record<string, { Type: string; Properties?: { Description?: string }; Metadata?: Record<string, string> }>;
}

/** What each function of the template deploys: the files of its asset directory, by the function's description. */
async function functionBundles(out: string, template: Template): Promise<Map<string, string[]>> {
  const bundles = new Map<string, string[]>();
  for (const resource of Object.values(template.Resources)) {
    const asset = resource.Metadata?.['aws:asset:path'];
    if (resource.Type !== 'AWS::Lambda::Function' || !asset) continue;
    bundles.set(resource.Properties?.Description ?? asset, await readdir(join(out, asset), { recursive: true }));
  }
  return bundles;
}

/**
 * `npx cdk synth` exactly as an operator runs it before `cdk deploy`: cdk.json's own context, real bundling, and the
 * region the CLI resolves (us-east-1 when none is configured, the one set otherwise). cdk-nag findings the app does
 * not acknowledge fail the synth; the validation report and the output are checked too, so a finding reported as a
 * warning fails here as well.
 */
export async function cdkSynth(stage: 'dev' | 'prod', region: string | undefined) {
  const out = await mkdtemp(join(tmpdir(), `meterline-synth-${stage}-`));
  try {
    const { stdout, stderr } = await run('npx', ['cdk', 'synth', '--quiet', '-c', `stage=${stage}`, '-o', out], {
      cwd: root,
      env: operatorEnv(region),
      maxBuffer: 64 * 1024 * 1024,
    }).catch((error: { stdout?: string; stderr?: string; code?: number }) => {
      throw new Error(`cdk synth -c stage=${stage} (region ${region ?? 'none'}) exited ${error.code}:\n${error.stdout}\n${error.stderr}`);
    });
    const report = JSON.parse(await readFile(join(out, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations?: unknown[] }[];
    };
    const template = JSON.parse(await readFile(join(out, `Meterline-${stage}.template.json`), 'utf8')) as Template;
    return {
      output: `${stdout}\n${stderr}`,
      violations: report.pluginReports.flatMap((r) => r.violations ?? []),
      template,
      bundles: await functionBundles(out, template),
    };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}
