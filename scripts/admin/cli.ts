import { parseArgs } from 'node:util';
import { billingCommands } from './billing.js';
import { bootstrapCommand } from './bootstrap.js';
import { target } from './client.js';
import { type Command, type Io, type Option, UsageError, type Values } from './command.js';
import { eventCommands } from './events.js';
import { recomputeCommands } from './recompute.js';
import { render } from './render.js';
import { tenantCommands } from './tenants.js';
import { usageSqlCommand } from './usage.js';

/**
 * `npm run admin -- <command> [--option value]`: the admin API from a terminal, parsed by Node's `util.parseArgs`.
 * Every command but `bootstrap` goes through the HTTP API with an admin key. Answers print as tables; `--json`
 * prints them as the API gave them. `runAdmin` is the whole CLI but the process: it writes to the streams it is given
 * and answers the exit code, so scripts/admin.ts is two lines and the tests run commands without starting Node.
 */
const commands: Command[] = [
  bootstrapCommand,
  ...tenantCommands,
  ...billingCommands,
  ...eventCommands,
  ...recomputeCommands,
  usageSqlCommand,
];

const globalOptions: Record<string, Option> = {
  url: { type: 'string', description: 'API base URL (default: METERLINE_API_URL, or the one `npm start` wrote)', value: '<url>' },
  'admin-key': { type: 'string', description: 'admin API key (default: METERLINE_ADMIN_KEY, or the local one)', value: '<key>' },
  json: { type: 'boolean', description: 'print the answer as JSON, for scripts' },
  help: { type: 'boolean', description: 'show this help' },
};

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: npm run admin -- <command> [options]     (npm run admin -- <command> --help for its options)',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'every command takes --json, --url and --admin-key',
  ].join('\n');
}

function help(c: Command): string {
  const options = Object.entries({ ...c.options, ...globalOptions });
  const flag = ([name, o]: [string, Option]) => `--${name}${o.type === 'string' ? ` ${o.value ?? '<value>'}` : ''}`;
  const width = Math.max(...options.map((o) => flag(o).length));
  const synopsis = Object.entries(c.options)
    .map((o) => (o[1].required ? flag(o) : `[${flag(o)}]`))
    .join(' ');
  return [
    `usage: npm run admin -- ${c.name} ${synopsis}`.trimEnd(),
    '',
    c.summary,
    '',
    ...options.map((o) => `  ${flag(o).padEnd(width)}  ${o[1].description}${o[1].required ? ' (required)' : ''}`),
    ...(c.notes ? ['', c.notes] : []),
  ].join('\n');
}

/** Runs one command line (the words after `npm run admin --`) and answers its exit code. */
export async function runAdmin(argv: readonly string[], io: Io): Promise<number> {
  const words = argv.slice(0, argv.findIndex((a) => a.startsWith('-')) === -1 ? argv.length : argv.findIndex((a) => a.startsWith('-')));
  // A command that takes a positional argument is named by the words before it.
  const command =
    commands.find((c) => c.name === words.join(' ')) ?? commands.find((c) => c.positional && words.join(' ').startsWith(`${c.name} `));
  if (!command) {
    const asked = words.length > 0;
    (asked ? io.stderr : io.stdout).write(`${asked ? `unknown command "${words.join(' ')}"\n\n` : ''}${overview()}\n`);
    return asked ? 2 : 0;
  }

  let values: Values;
  try {
    const options = Object.fromEntries(Object.entries({ ...command.options, ...globalOptions }).map(([k, o]) => [k, { type: o.type }]));
    const named = command.name.split(' ').length;
    const parsed = parseArgs({ args: argv.slice(named), options, strict: true, allowPositionals: Boolean(command.positional) });
    values = parsed.values as Values;
    if (command.positional && parsed.positionals.length > 0) values[command.positional] = parsed.positionals.join(' ');
  } catch (error) {
    io.stderr.write(`error: ${(error as Error).message}\n\n${help(command)}\n`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(`${help(command)}\n`);
    return 0;
  }
  try {
    const result = await command.run(
      values,
      () => target({ url: values.url as string | undefined, adminKey: values['admin-key'] as string | undefined }),
      io,
    );
    // An API that answers nothing (204: a revocation, a deletion) still gets a line, so success is never silent.
    if (result === undefined || result === null) io.stdout.write(`${values.json ? '{}' : `${command.name}: done`}\n`);
    else io.stdout.write(`${values.json ? JSON.stringify(result, null, 2) : (command.render ?? render)(result)}\n`);
    return 0;
  } catch (error) {
    io.stderr.write(`error: ${(error as Error).message}\n`);
    if (error instanceof UsageError) io.stderr.write(`\n${help(command)}\n`);
    return error instanceof UsageError ? 2 : 1;
  }
}
