import S3rver from 's3rver';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A real S3-compatible server (s3rver) on an ephemeral loopback port, with one empty bucket. */
export interface TestS3 {
  /** BLOB_URL for the server, with the key in it. */
  blobUrl: string;
  bucket: string;
  /** Whether an object with a key ending in `name` exists in the bucket (s3rver keeps objects as files). */
  hasObjectEnding(name: string): boolean;
  /** How many objects are in the bucket. */
  objectCount(): number;
  stop(): Promise<void>;
}

export async function startS3(): Promise<TestS3> {
  const directory = mkdtempSync(join(tmpdir(), 's3rver-'));
  const bucket = 'sotong-blobs';
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  // s3rver stores each object as `<key>._S3rver_object` beside its metadata files.
  const objects = () => walk(join(directory, bucket)).filter((f) => f.endsWith('._S3rver_object'));
  return {
    blobUrl: `s3://S3RVER:S3RVER@127.0.0.1:${port}/${bucket}?region=us-east-1&forcePathStyle=true&tls=false`,
    bucket,
    hasObjectEnding: (name) => objects().some((f) => f.endsWith(`${name}._S3rver_object`)),
    objectCount: () => objects().length,
    async stop() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

function walk(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}
