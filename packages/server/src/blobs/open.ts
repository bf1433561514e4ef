import { join } from 'node:path';
import { redactUrl, type Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { BlobStore } from './blob-store.js';
import { FsBlobStore } from './fs.js';

/** The filesystem under DATA_DIR by default; S3-compatible storage when BLOB_URL is an s3:// URL. */
export async function openBlobStore(config: Config, log: Logger): Promise<BlobStore & { close?(): void }> {
  if (!config.blobUrl) return new FsBlobStore(join(config.dataDir, 'blobs'));
  // Loaded only when chosen: a server on local disk never loads the AWS SDK.
  const { parseS3Url, S3BlobStore } = await import('./s3.js');
  const location = parseS3Url(config.blobUrl);
  log.info({ blobs: redactUrl(config.blobUrl), bucket: location.bucket }, 'blobs in S3-compatible storage');
  return new S3BlobStore(location);
}
