import { S3Client, HeadBucketCommand, ListObjectsV2Command, ListMultipartUploadsCommand, ListBucketsCommand } from '@aws-sdk/client-s3';
const c = new S3Client({ endpoint: 'http://127.0.0.1:7480', region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'ciaccess', secretAccessKey: 'cisecret' } });
const t = async (name: string, cmd: any) => { const t0 = Date.now(); try { const r: any = await c.send(cmd, { abortSignal: AbortSignal.timeout(15000) }); console.log(name, 'ok', Date.now()-t0, 'ms', r.Buckets?.map((b: any)=>b.Name).join(' ') ?? r.KeyCount ?? r.Uploads?.length ?? ''); } catch (e: any) { console.log(name, 'FAIL', Date.now()-t0, 'ms', e.name, e.message); } };
await t('list buckets', new ListBucketsCommand({}));
const b = process.argv[2];
if (b) { await t('head', new HeadBucketCommand({ Bucket: b })); await t('list', new ListObjectsV2Command({ Bucket: b, MaxKeys: 5 })); await t('multiparts', new ListMultipartUploadsCommand({ Bucket: b })); }
