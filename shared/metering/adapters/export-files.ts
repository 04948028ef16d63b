import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { chunk } from '../../kernel/batching.js';
import type { ExportFiles } from '../usage-export.js';

/** The export in its S3 bucket (encrypted by the bucket's default key). */
export class S3ExportFiles implements ExportFiles {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async put(key: string, body: Uint8Array): Promise<void> {
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body }));
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const r = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return await r.Body!.transformToByteArray();
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  async list(prefix: string, startAfter?: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const r = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token, StartAfter: startAfter }),
      );
      for (const o of r.Contents ?? []) keys.push(o.Key!);
      token = r.NextContinuationToken;
    } while (token);
    return keys;
  }

  async delete(keys: string[]): Promise<void> {
    // DeleteObjects takes at most 1,000 keys a call.
    for (const part of chunk(keys, 1000)) {
      await this.s3.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: part.map((Key) => ({ Key })) } }));
    }
  }
}

/** The export in a local directory (`npm start`: .meterline/export/), laid out as in the bucket. */
export class DirectoryExportFiles implements ExportFiles {
  constructor(private readonly root: string) {}

  async put(key: string, body: Uint8Array): Promise<void> {
    const file = join(this.root, key);
    await mkdir(dirname(file), { recursive: true });
    // Through a new file and a rename, as S3 replaces an object whole: a reader never sees half a file.
    await writeFile(`${file}.tmp`, body);
    await rename(`${file}.tmp`, file);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return readFile(join(this.root, key)).catch(() => undefined);
  }

  async list(prefix: string, startAfter = ''): Promise<string[]> {
    const entries = await readdir(join(this.root, prefix), { recursive: true, withFileTypes: true }).catch(() => []);
    return entries
      .filter((e) => e.isFile())
      .map((e) => relative(this.root, join(e.parentPath, e.name)).split('\\').join('/'))
      .filter((key) => key > startAfter)
      .sort();
  }

  async delete(keys: string[]): Promise<void> {
    for (const key of keys) await rm(join(this.root, key), { force: true });
  }
}
