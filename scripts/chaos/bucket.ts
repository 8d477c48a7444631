// Removes a chaos run's own S3 bucket (every object, every open multipart upload, then the bucket).
import {
  AbortMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import type { StoreSettings } from './verify';

export async function removeBucket(s: StoreSettings): Promise<void> {
  const s3 = new S3Client({
    endpoint: s.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: s.accessKey, secretAccessKey: s.secretKey },
  });
  try {
    for (;;) {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: s.bucket, MaxKeys: 1000 }));
      const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (!keys.length) break;
      await s3.send(new DeleteObjectsCommand({ Bucket: s.bucket, Delete: { Objects: keys, Quiet: true } }));
    }
    for (;;) {
      const page = await s3.send(new ListMultipartUploadsCommand({ Bucket: s.bucket }));
      if (!page.Uploads?.length) break;
      for (const u of page.Uploads)
        await s3.send(
          new AbortMultipartUploadCommand({ Bucket: s.bucket, Key: u.Key!, UploadId: u.UploadId! }),
        );
    }
    await s3.send(new DeleteBucketCommand({ Bucket: s.bucket }));
  } catch (err) {
    if ((err as { name?: string }).name !== 'NoSuchBucket') throw err;
  } finally {
    s3.destroy();
  }
}
