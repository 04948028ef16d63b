import type { AddressInfo } from 'node:net';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ExtensionLink } from '../../clients/node/src/extension-link.js';
import { freePort } from '../../local/net.js';

/**
 * The client's end of the Lambda extension's socket against a scripted extension: each line it answers settles the
 * batch of that `seq`, whatever order and chunking the answers come in; anything it cannot vouch for sends the batch to
 * Meterline directly.
 */
type Line = { authorization?: string; seq?: number; events?: { id: string }[] };

async function fakeExtension(answer: (line: Line, socket: Socket) => void): Promise<{ address: string; lines: Line[]; server: Server }> {
  const lines: Line[] = [];
  const server = createServer((socket) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n')) {
        const line = JSON.parse(text.slice(0, end)) as Line;
        text = text.slice(end + 1);
        lines.push(line);
        answer(line, socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, lines, server };
}

const event = (id: string) => ({ id, meter: 'calls', timestamp: '2026-03-01T00:00:00Z' });

describe('the extension link', () => {
  const servers: Server[] = [];
  afterEach(() => {
    vi.useRealTimers();
    for (const server of servers.splice(0)) server.close();
  });

  it('names its key first, then settles each batch by its own answer, in any order and chunking', async () => {
    const sockets: Socket[] = [];
    const ext = await fakeExtension((line, socket) => {
      if (line.seq === undefined) return;
      sockets.push(socket);
      if (line.seq === 3) {
        // Answers for 3, then 1 split across two writes, then 2, and one for a batch never sent (ignored).
        socket.write(`${JSON.stringify({ seq: 3, status: 'rejected', code: 'INVALID_EVENTS', field: 'events[0].meter' })}\n{"seq":1,"sta`);
        socket.write(`tus":"accepted"}\n${JSON.stringify({ seq: 2, status: 'rejected', code: 'FULL' })}\n{"seq":99,"status":"accepted"}\n`);
      }
    });
    servers.push(ext.server);
    const link = new ExtensionLink(ext.address, 'Bearer mk_test', () => undefined);

    const batches = [[event('a')], [event('b')], [event('c'), event('d')]].map((events) => link.handOver(events));
    expect(await Promise.all(batches.map((b) => b.written))).toEqual([true, true, true]);
    expect(await Promise.all(batches.map((b) => b.answered))).toEqual([
      { status: 'accepted' },
      // A code other than INVALID_EVENTS (a full journal, say) is the extension's trouble, not the events'.
      { status: 'unavailable' },
      { status: 'refused', code: 'INVALID_EVENTS', message: 'invalid events', field: 'events[0].meter' },
    ]);
    expect(ext.lines[0]).toEqual({ authorization: 'Bearer mk_test' });
    expect(ext.lines.slice(1).map((l) => [l.seq, l.events?.map((e) => e.id)])).toEqual([
      [1, ['a']],
      [2, ['b']],
      [3, ['c', 'd']],
    ]);
    expect(link.usable).toBe(true);
  });

  it('stops handing over, once told so, when the extension refuses this client’s key', async () => {
    const warn = vi.fn();
    const ext = await fakeExtension((line, socket) => {
      if (line.authorization) socket.write(`${JSON.stringify({ code: 'WRONG_KEY', message: 'the extension serves another key' })}\n`);
    });
    servers.push(ext.server);
    const link = new ExtensionLink(ext.address, 'Bearer other', warn);
    link.handOver([event('a')]);
    await vi.waitFor(() => expect(link.usable).toBe(false));
    expect(warn).toHaveBeenCalledWith('the Meterline extension refused this client; sending to Meterline directly', {
      code: 'WRONG_KEY',
      message: 'the extension serves another key',
    });
  });

  it('answers unavailable when no extension listens, and tries again only after a pause', async () => {
    const link = new ExtensionLink(`127.0.0.1:${await freePort()}`, 'Bearer mk_test', () => undefined);
    const { answered } = link.handOver([event('a')]);
    expect(await answered).toEqual({ status: 'unavailable' });
    expect(link.usable).toBe(false);
    vi.useFakeTimers({ now: Date.now() + 5_000, toFake: ['Date'] });
    expect(link.usable).toBe(true);
  });
});
