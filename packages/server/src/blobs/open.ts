import { join } from 'node:path';
import { redactUrl, type Config } from '../config.js';
import type { KeyRing } from '../keys/key-ring.js';
import type { Logger } from '../logger.js';
import type { BlobStore, RawBlobStore } from './blob-store.js';
import { FsBlobStore } from './fs.js';
import { SealedBlobStore } from './sealed.js';

/**
 * The filesystem under DATA_DIR by default; S3-compatible storage when BLOB_URL is an s3:// URL.
 * Either way blobs are sealed while encryption at rest is on (docs/encryption.md).
 */
export async function openBlobStore(config: Config, log: Logger, keys: KeyRing): Promise<BlobStore & { close?(): void }> {
  return new SealedBlobStore(await openRawBlobStore(config, log), keys, config.atRest);
}

async function openRawBlobStore(config: Config, log: Logger): Promise<RawBlobStore> {
  if (!config.blobUrl) return new FsBlobStore(join(config.dataDir, 'blobs'));
  // Loaded only when chosen: a server on local disk never loads the AWS SDK.
  const { parseS3Url, S3BlobStore } = await import('./s3.js');
  const location = parseS3Url(config.blobUrl);
  log.info({ blobs: redactUrl(config.blobUrl), bucket: location.bucket }, 'blobs in S3-compatible storage');
  return new S3BlobStore(location);
}
