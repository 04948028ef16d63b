import { ClientError } from '../../shared/kernel/errors.js';
import { JsonSyntaxError, parseJson } from '../../shared/kernel/json.js';
import { eventsOf, MAX_EVENTS_PER_REQUEST, MAX_REQUEST_BYTES } from '../../shared/metering/events.js';
import { type HttpEvent, header, rawBody } from '../../shared/platform/http.js';

/**
 * An ingest request's body as the events it carries: the content types and charset taken, gzip, strict UTF-8, JSON,
 * the batch shapes and limits, and a CloudEvent in binary mode made the structured event it stands for. Every refusal
 * is a ClientError with its code.
 */
const CONTENT_TYPES = new Set(['application/json', 'application/cloudevents+json', 'application/cloudevents-batch+json']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The events of a request: one, an array, `{ "events": [...] }`, a CloudEvents batch, or one in binary mode. */
export function readEvents(event: HttpEvent): unknown[] {
  const [mediaType, ...params] = (header(event, 'content-type') ?? 'application/json').split(';').map((p) => p.trim().toLowerCase());
  const charset = params
    .find((p) => p.startsWith('charset='))
    ?.slice('charset='.length)
    .replace(/"/g, '');
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new ClientError('UNSUPPORTED_MEDIA_TYPE', `charset ${charset} is not supported; send UTF-8`);
  }
  const binaryMode = header(event, 'ce-specversion') !== undefined;
  if (binaryMode ? !/^application\/([\w.-]+\+)?json$/.test(mediaType!) : !CONTENT_TYPES.has(mediaType!)) {
    const expected = binaryMode
      ? 'CloudEvents binary mode needs JSON data (application/json)'
      : 'use application/json or application/cloudevents(-batch)+json';
    throw new ClientError('UNSUPPORTED_MEDIA_TYPE', `content type ${mediaType} is not supported; ${expected}`);
  }
  const text = decode(event);
  let parsed: unknown;
  try {
    parsed = binaryMode && text.trim() === '' ? undefined : parseJson(text);
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    throw new ClientError('INVALID_JSON', 'the request body is not valid JSON');
  }
  if (binaryMode) return [fromBinaryMode(event, parsed)];
  if (mediaType === 'application/cloudevents-batch+json' && !Array.isArray(parsed)) {
    throw new ClientError('INVALID_REQUEST', 'a CloudEvents batch must be a JSON array');
  }
  const items = eventsOf(parsed);
  if (!items) throw new ClientError('INVALID_REQUEST', 'send an event object, an array of events, or { "events": [...] }');
  if (items.length === 0) throw new ClientError('INVALID_REQUEST', 'the batch holds no events', 'events');
  if (items.length > MAX_EVENTS_PER_REQUEST) {
    throw new ClientError('BATCH_TOO_LARGE', `the batch holds ${items.length} events; the limit is ${MAX_EVENTS_PER_REQUEST}`, 'events');
  }
  return items;
}

/** The body as text: gunzipped when the client compressed it, and strictly UTF-8 (a mangled id is worse than a 400). */
function decode(event: HttpEvent): string {
  let body = rawBody(event);
  const tooLarge = (size: string) => new ClientError('PAYLOAD_TOO_LARGE', `the body is ${size}; the limit is ${MAX_REQUEST_BYTES} bytes`);
  if (body.length > MAX_REQUEST_BYTES) throw tooLarge(`${body.length} bytes`);
  const encoding = (header(event, 'content-encoding') ?? 'identity').trim().toLowerCase();
  if (encoding === 'gzip') {
    try {
      // zlib loads with the first compressed body (~4 ms that a cold start of plain JSON need not pay).
      body = process.getBuiltinModule('node:zlib').gunzipSync(body, { maxOutputLength: MAX_REQUEST_BYTES });
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge('larger once decompressed');
      throw new ClientError('INVALID_REQUEST', 'the body is not valid gzip (Content-Encoding: gzip)');
    }
  } else if (encoding !== 'identity') {
    throw new ClientError('UNSUPPORTED_MEDIA_TYPE', `content encoding ${encoding} is not supported; send gzip or an uncompressed body`);
  }
  try {
    return utf8.decode(body);
  } catch {
    throw new ClientError('INVALID_JSON', 'the request body is not valid UTF-8');
  }
}

/**
 * A CloudEvent in binary mode: its attributes are `ce-*` headers and the body is its `data`. It becomes the
 * structured event it stands for, so both modes take one path.
 */
function fromBinaryMode(event: HttpEvent, data: unknown): Record<string, unknown> {
  const structured: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    const key = name.toLowerCase();
    if (key.startsWith('ce-') && value !== undefined) structured[key.slice(3)] = percentDecoded(value);
  }
  if (data !== undefined) structured.data = data;
  return structured;
}

/** Header values of CloudEvents attributes are percent-encoded beyond printable ASCII. */
function percentDecoded(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
