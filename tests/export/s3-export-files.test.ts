import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { S3ExportFiles } from '../../shared/metering/adapters/export-files.js';

/**
 * The export's files in S3 as the AWS calls that S3 answers: ListObjectsV2 answers at most 1,000 keys a page and
 * DeleteObjects takes at most 1,000 keys a call, so both are paged; a key that is not there reads as absent.
 */
describe('the usage export in S3', () => {
  const s3 = mockClient(S3Client);
  const files = new S3ExportFiles(new S3Client({ region: 'eu-west-1' }), 'meterline-usage');
  afterEach(() => s3.reset());

  it('writes and reads an object in the bucket, and reads a missing key as absent', async () => {
    s3.on(PutObjectCommand).resolves({});
    s3.on(GetObjectCommand, { Key: 'usage/a.parquet' }).resolves({
      // The SDK's stream, as far as the adapter reads it.
      Body: { transformToByteArray: async () => new Uint8Array(Buffer.from('PAR1')) } as never,
    });
    s3.on(GetObjectCommand, { Key: 'usage/missing.parquet' }).rejects(new NoSuchKey({ message: 'missing', $metadata: {} }));

    await files.put('usage/a.parquet', Buffer.from('PAR1'));
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input).toMatchObject({ Bucket: 'meterline-usage', Key: 'usage/a.parquet' });
    expect(Buffer.from((await files.get('usage/a.parquet'))!).toString()).toBe('PAR1');
    expect(await files.get('usage/missing.parquet')).toBeUndefined();
  });

  it('passes on any other failure of a read', async () => {
    const denied = new S3ServiceException({ name: 'AccessDenied', $fault: 'client', message: 'denied', $metadata: {} });
    s3.on(GetObjectCommand).rejects(denied);
    await expect(files.get('usage/a.parquet')).rejects.toThrow('denied');
  });

  it('lists every page of keys under a prefix, after a key when asked', async () => {
    s3.on(ListObjectsV2Command, { ContinuationToken: undefined }).resolves({
      Contents: [{ Key: 'usage/1' }, { Key: 'usage/2' }],
      NextContinuationToken: 'page-2',
    });
    s3.on(ListObjectsV2Command, { ContinuationToken: 'page-2' }).resolves({ Contents: [{ Key: 'usage/3' }] });
    expect(await files.list('usage/', 'usage/0')).toEqual(['usage/1', 'usage/2', 'usage/3']);
    expect(s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input)).toEqual([
      { Bucket: 'meterline-usage', Prefix: 'usage/', ContinuationToken: undefined, StartAfter: 'usage/0' },
      { Bucket: 'meterline-usage', Prefix: 'usage/', ContinuationToken: 'page-2', StartAfter: 'usage/0' },
    ]);

    s3.reset();
    s3.on(ListObjectsV2Command).resolves({});
    expect(await files.list('empty/')).toEqual([]);
  });

  it('deletes in calls of at most 1,000 keys', async () => {
    s3.on(DeleteObjectsCommand).resolves({});
    const keys = Array.from({ length: 2001 }, (_, i) => `usage/${i}`);
    await files.delete(keys);
    const calls = s3.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input.Delete!.Objects!.map((o) => o.Key));
    expect(calls.map((c) => c.length)).toEqual([1000, 1000, 1]);
    expect(calls.flat()).toEqual(keys);
  });
});
