import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from '../../shared/kernel/zod-mini.js';
import { cursorCodec, keyString } from '../../shared/platform/dynamo/cursor.js';

/**
 * Page cursors handed to API clients: one handed out comes back as its position; anything else (cut, tampered,
 * another listing's, a position of the wrong shape under a valid signature) is a 400 on `cursor`, never a start key
 * DynamoDB would refuse.
 */
const position = z.strictObject({ pk: keyString, sk: keyString });
const refusal = { code: 'INVALID_REQUEST', field: 'cursor' };

describe('page cursors', () => {
  it('a cursor handed out comes back as its position', async () => {
    const cursors = cursorCodec('deliveries#t1', position);
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 50 }), fc.string({ minLength: 1, maxLength: 50 }), async (pk, sk) => {
        expect(await cursors.decode(await cursors.encode({ pk, sk }))).toEqual({ pk, sk });
      }),
    );
  });

  it('any other text is refused as a client mistake on the cursor field', async () => {
    const cursors = cursorCodec('deliveries#t1', position);
    const handedOut = await cursors.encode({ pk: 'a', sk: 'b' });
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 120 }), async (text) => {
        fc.pre(text !== handedOut);
        await expect(cursors.decode(text)).rejects.toMatchObject(refusal);
      }),
    );
    const [body, mac] = handedOut.split('.');
    for (const tampered of [body!, `${handedOut}.x`, `${body}.${mac!.slice(1)}`, `${body}x.${mac}`, `.${mac}`]) {
      await expect(cursors.decode(tampered)).rejects.toMatchObject(refusal);
    }
  });

  it("another listing's cursor, or a position of the wrong shape under a valid signature, is refused", async () => {
    const other = cursorCodec('deliveries#t2', position);
    await expect(cursorCodec('deliveries#t1', position).decode(await other.encode({ pk: 'a', sk: 'b' }))).rejects.toMatchObject(refusal);
    const loose = cursorCodec('deliveries#t1', z.object({ pk: z.string() }));
    await expect(cursorCodec('deliveries#t1', position).decode(await loose.encode({ pk: 'a' }))).rejects.toMatchObject(refusal);
    const sized = cursorCodec('deliveries#t1', z.strictObject({ pk: z.string() }));
    await expect(cursorCodec('deliveries#t1', position).decode(await sized.encode({ pk: 'x'.repeat(2_000) }))).rejects.toMatchObject(
      refusal,
    );
  });
});
