import type { SourceMap, SourceOrigin } from 'node:module';

type Frame = NodeJS.CallSite;

/**
 * Stack traces that point at the TypeScript source, with each bundle's source map read the first time a
 * stack passes through that bundle. Node's `--enable-source-maps` reads and parses the map of every chunk
 * at module load instead: ~27 ms of the ingest function's cold start, for stacks most invocations never
 * print. Stacks that pass through no mapped bundle are left to the formatter that was there before.
 * The built-ins it needs load then too: an `import` of node:fs alone costs ~6 ms at init (its ES module
 * facade reads `fs.promises`, which loads the promises API and readline).
 */
export function sourceMappedStackTraces(): void {
  if (process.sourceMapsEnabled) return;
  const previous = Error.prepareStackTrace;
  const maps = new Map<string, SourceMap | undefined>();
  const mapOf = (file: string): SourceMap | undefined => {
    if (!maps.has(file)) maps.set(file, readMap(file));
    return maps.get(file);
  };
  const origin = (frame: Frame | undefined): SourceOrigin | undefined => {
    const file = frame?.getFileName();
    const line = frame?.getLineNumber();
    const column = frame?.getColumnNumber();
    if (!file || !line || !column) return undefined;
    const found = mapOf(file)?.findOrigin(line, column);
    return found && 'fileName' in found ? found : undefined;
  };
  Error.prepareStackTrace = (error, frames) => {
    if (!frames.some((frame) => origin(frame)))
      return previous ? previous(error, frames) : [header(error), ...frames.map((f) => `    at ${f}`)].join('\n');
    const lines = frames.map((frame, i) => {
      const at = origin(frame);
      if (!at) return `    at ${frame}`;
      // A minified frame's own name is meaningless; the map names what its caller called (the next frame's position).
      const name = origin(frames[i + 1])?.name;
      const place = `${sourcePath(at.fileName)}:${at.lineNumber}:${at.columnNumber}`;
      return `    at ${frame.isAsync() ? 'async ' : ''}${name ? `${name} (${place})` : place}`;
    });
    return [header(error), ...lines].join('\n');
  };
}

function readMap(file: string): SourceMap | undefined {
  if (!file.startsWith('file:') && !file.startsWith('/')) return undefined; // node:internal frames and the like
  try {
    const { readFileSync } = process.getBuiltinModule('node:fs');
    const { SourceMap } = process.getBuiltinModule('node:module');
    const path = file.startsWith('file:') ? process.getBuiltinModule('node:url').fileURLToPath(file) : file;
    return new SourceMap(JSON.parse(readFileSync(`${path}.map`, 'utf8')));
  } catch {
    return undefined; // no map beside the file: its frames stay as they are
  }
}

/** `../../shared/metering/events.ts` as the map has it (relative to where the bundle was built): from the repository root. */
function sourcePath(fileName: string): string {
  return fileName.replace(/^.*?\b(functions|shared|node_modules)\//, '$1/');
}

function header(error: Error): string {
  try {
    return String(error);
  } catch {
    return '<error>';
  }
}
