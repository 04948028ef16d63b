import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readEvents } from '../../functions/ingest/body.js';
import { httpEvent } from '../../local/http-event.js';
import { MAX_REQUEST_BYTES } from '../../shared/metering/events.js';

/** An ingest request's body as readEvents takes it: the refusals a client reads, and CloudEvents in binary mode. */
function request(body: string | Buffer, headers: Record<string, string> = {}) {
  const event = httpEvent({ routeKey: 'POST /v1/events' });
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  return { ...event, body: bytes.toString('base64'), isBase64Encoded: true, headers: { ...event.headers, ...headers } };
}
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    const e = error as { code: string; field?: string; message: string };
    return { code: e.code, field: e.field, message: e.message };
  }
  return undefined;
};

describe('ingest bodies: refusals', () => {
  it('refuses what is no event, no batch, and an empty batch', () => {
    expect(refusal(() => readEvents(request('"orders"')))).toEqual({
      code: 'INVALID_REQUEST',
      field: undefined,
      message: 'send an event object, an array of events, or { "events": [...] }',
    });
    expect(refusal(() => readEvents(request('[]')))).toEqual({
      code: 'INVALID_REQUEST',
      field: 'events',
      message: 'the batch holds no events',
    });
    expect(refusal(() => readEvents(request('{"events":[]}')))?.field).toBe('events');
  });

  it('refuses a CloudEvents batch that is not an array', () => {
    expect(refusal(() => readEvents(request('{"id":"a"}', { 'content-type': 'application/cloudevents-batch+json' })))).toMatchObject({
      code: 'INVALID_REQUEST',
      message: 'a CloudEvents batch must be a JSON array',
    });
  });

  it('refuses a gzip body that grows past the limit once decompressed, before it is read whole', () => {
    const bomb = gzipSync(Buffer.alloc(MAX_REQUEST_BYTES + 1, 32));
    expect(bomb.length).toBeLessThan(MAX_REQUEST_BYTES);
    expect(refusal(() => readEvents(request(bomb, { 'content-encoding': 'gzip' })))).toEqual({
      code: 'PAYLOAD_TOO_LARGE',
      field: undefined,
      message: `the body is larger once decompressed; the limit is ${MAX_REQUEST_BYTES} bytes`,
    });
  });

  it('refuses binary mode with data that is not JSON, saying what it needs', () => {
    expect(refusal(() => readEvents(request('hello', { 'ce-specversion': '1.0', 'content-type': 'text/plain' })))).toEqual({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      field: undefined,
      message: 'content type text/plain is not supported; CloudEvents binary mode needs JSON data (application/json)',
    });
  });
});

describe('ingest bodies: CloudEvents in binary mode', () => {
  const ce = { 'ce-specversion': '1.0', 'ce-id': 'e-1', 'ce-type': 'orders', 'ce-source': '/shop' };

  it('makes the structured event of the ce- headers and the body, a +json type taken as JSON', () => {
    expect(readEvents(request('{"value":"3"}', { ...ce, 'content-type': 'application/vnd.shop+json; charset="utf-8"' }))).toEqual([
      { specversion: '1.0', id: 'e-1', type: 'orders', source: '/shop', data: { value: '3' } },
    ]);
  });

  it('takes an empty body as an event without data, and percent-decodes attributes, keeping one that is not valid encoding', () => {
    expect(readEvents(request('', { ...ce, 'ce-subject': 'caf%C3%A9', 'ce-tenant': '100%' }))).toEqual([
      { specversion: '1.0', id: 'e-1', type: 'orders', source: '/shop', subject: 'café', tenant: '100%' },
    ]);
  });
});
