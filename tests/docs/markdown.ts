import { readdirSync, readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';

/**
 * The fenced blocks of the documentation, as the docs tests read them. A shell block says what it is in its
 * info string: `sh runnable` (run by tests/docs/docs.test.ts against `npm start`'s stack, in a shell where
 * `.meterline/env` was sourced) or `sh manual` (needs AWS, or runs until stopped). A block right after a runnable
 * one whose info string ends in `output` is the output it must give; `…` in it stands for anything.
 */
export const ROOT = resolve(import.meta.dirname, '..', '..');

export interface Block {
  file: string;
  line: number;
  lang: string;
  marks: string[];
  code: string;
  /** For a runnable block: the output shown right after it. */
  output?: string;
}

export const SHELL = new Set(['sh', 'bash', 'shell', 'console', 'zsh']);
export const TYPESCRIPT = new Set(['ts', 'typescript']);

/** README.md, every Markdown file under docs/, and the client's README. */
export function documentationFiles(): string[] {
  const docs = readdirSync(resolve(ROOT, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`)
    .sort();
  return ['README.md', ...docs, 'clients/node/README.md'];
}

export function blocks(file: string): Block[] {
  const lines = readFileSync(resolve(ROOT, file), 'utf8').split('\n');
  const found: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S*)\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent = '', lang = '', info = ''] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !new RegExp(`^${indent}\`\`\`\\s*$`).test(lines[j]!); j++) body.push(lines[j]!.slice(indent.length));
    found.push({ file, line: i + 1, lang, marks: info.split(/\s+/).filter(Boolean), code: body.join('\n') });
    i = j;
  }
  // Pair each runnable block with the output block that follows it.
  for (let k = 0; k + 1 < found.length; k++) {
    const [a, b] = [found[k]!, found[k + 1]!];
    if (a.marks.includes('runnable') && b.marks.at(-1) === 'output') a.output = b.code;
  }
  return found;
}

export const allBlocks = (): Block[] => documentationFiles().flatMap(blocks);

export const where = (b: Block) => `${relative(ROOT, resolve(ROOT, b.file))}:${b.line}`;

/** Whether `actual` has the shape of `expected`: equal but for whitespace, `…` standing for anything. */
export function hasShape(actual: string, expected: string): boolean {
  const squeeze = (s: string) => s.replace(/\s+/g, '');
  const pattern = squeeze(expected)
    .split('…')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[\\s\\S]*?');
  return new RegExp(`^${pattern}$`).test(squeeze(actual));
}

export const PLANTED = '--planted-wrong-flag';

/**
 * The block with a wrong flag planted in its first `curl` or `npm` command, or undefined when it has none
 * (`source`, `export` and `echo` take no flags to get wrong). curl takes it right after its name, since a
 * quoted body may span lines; `npm run <tool> -- ...` at the end of the command, so the tool gets it after its
 * command words.
 */
export function plantWrongFlag(code: string): string | undefined {
  const lines = code.split('\n');
  const start = lines.findIndex((l) => /^\s*(curl|npm)\s/.test(l));
  if (start === -1) return undefined;
  if (/^\s*curl\s/.test(lines[start]!)) {
    lines[start] = lines[start]!.replace(/curl\s/, `curl ${PLANTED} `);
    return lines.join('\n');
  }
  let end = start;
  while (lines[end]!.trimEnd().endsWith('\\')) end++;
  const last = lines[end]!;
  const comment = last.search(/\s+#\s/);
  lines[end] = comment === -1 ? `${last} ${PLANTED}` : `${last.slice(0, comment)} ${PLANTED}${last.slice(comment)}`;
  return lines.join('\n');
}
