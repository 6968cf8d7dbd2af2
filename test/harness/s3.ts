/**
 * A real S3-protocol server (s3rver) for tests, in a child process on a free loopback port with its
 * own temp directory and one pre-created bucket. Clients need `forcePathStyle: true` (the endpoint
 * is an IP address) and the credentials S3RVER / S3RVER (the only account s3rver knows).
 *
 * Why a child process and not in-process:
 * - s3rver's ListObjectsV2 continuation tokens are DES-encrypted, which OpenSSL 3 (Node ≥ 17)
 *   refuses unless Node runs with --openssl-legacy-provider: in-process, every truncated listing
 *   (pagination) fails with HTTP 500 InternalError.
 * - It keeps Koa/winston and their handlers out of the test's module registry and event loop.
 * The child holds a pipe to us on stdin and exits when it closes, so even a killed test run
 * leaves no server behind.
 *
 * s3rver 3.7.1 answers AbortMultipartUpload and ListMultipartUploads with 405 MethodNotAllowed. A
 * middleware in front of its routes answers both from its own data directory (the uploads it keeps
 * in `<dir>/<bucket>/._S3rver_uploads/<upload id>/`, with the part files), as S3 does, so a test can
 * abort a multipart upload and then ask, through the AWS SDK, whether any upload or part is left.
 * `multipartAbort: false` leaves s3rver as it is (for the path where a server cannot abort).
 */
import { startProcess } from './process.js';
import { tempDir } from './tmp.js';

export interface S3Server {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** s3rver's data directory: `<dir>/<bucket>/<key>._S3rver_object` and friends. */
  dir: string;
  /** What the server printed (startup errors; request logs when started with `silent: false`). */
  output(): string;
  stop(): Promise<void>;
}

const SERVER = `
const S3rver = require('s3rver');
const fs = require('fs');
const path = require('path');
const [dir, bucket, silent, multipartAbort, tamper] = process.argv.slice(1);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: silent === 'true',
  directory: dir,
  configureBuckets: [{ name: bucket }],
});
const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const xml = (body) => '<?xml version="1.0" encoding="UTF-8"?>' + body;
if (multipartAbort === 'true') server.middleware.unshift(async (ctx, next) => {
  const m = new RegExp('^/([^/]+)/?(.*)$').exec(ctx.path);
  if (!m) return next();
  const uploads = path.join(dir, m[1], '._S3rver_uploads');
  if (ctx.method === 'DELETE' && m[2] && ctx.query.uploadId !== undefined) {
    const upload = path.join(uploads, path.basename(String(ctx.query.uploadId)));
    if (!fs.existsSync(upload)) {
      ctx.status = 404;
      ctx.type = 'application/xml';
      ctx.body = xml('<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>');
      return;
    }
    fs.rmSync(upload, { recursive: true, force: true });
    ctx.status = 204;
    return;
  }
  if (ctx.method === 'GET' && !m[2] && ctx.query.uploads !== undefined) {
    let ids = [];
    try { ids = fs.readdirSync(uploads); } catch {}
    const prefix = String(ctx.query.prefix ?? '');
    const items = ids.flatMap((id) => {
      let key = '';
      try { key = fs.readFileSync(path.join(uploads, id, 'key'), 'utf8'); } catch {}
      if (!key.startsWith(prefix)) return [];
      const info = fs.statSync(path.join(uploads, id));
      const initiated = (info.birthtimeMs > 0 ? info.birthtime : info.ctime).toISOString();
      return ['<Upload><Key>' + esc(key) + '</Key><UploadId>' + esc(id) + '</UploadId><Initiated>' + initiated + '</Initiated></Upload>'];
    });
    ctx.type = 'application/xml';
    ctx.body = xml('<ListMultipartUploadsResult><Bucket>' + esc(m[1]) + '</Bucket><IsTruncated>false</IsTruncated>' + items.join('') + '</ListMultipartUploadsResult>');
    return;
  }
  return next();
});
// tamper (tests of the upload's integrity check), for object data only (not *.json, the manifests):
// 'flip-upload' flips byte 100 of what arrives for part 1 (or a single-request upload) before s3rver stores
// and hashes it, as damage on the way would; 'opaque-etag' answers every part and object upload with an ETag
// that is no MD5 of the bytes, as S3 does for SSE-KMS objects, and stores the bytes as they came.
if (tamper === 'flip-upload' || tamper === 'opaque-etag') server.middleware.unshift(async (ctx, next) => {
  const data = ctx.method === 'PUT' && !/[.]json$/.test(ctx.path);
  if (data && tamper === 'flip-upload' && (ctx.query.partNumber === undefined || String(ctx.query.partNumber) === '1')) {
    const { Transform } = require('stream');
    let seen = 0;
    const flip = new Transform({
      transform(chunk, _enc, done) {
        if (seen <= 100 && seen + chunk.length > 100) {
          chunk = Buffer.from(chunk);
          chunk[100 - seen] ^= 1;
        }
        seen += chunk.length;
        done(null, chunk);
      },
    });
    const req = ctx.req;
    req.once('error', (err) => flip.destroy(err));
    ctx.req = req.pipe(flip);
  }
  await next();
  if (data && tamper === 'opaque-etag' && ctx.response.get('ETag')) ctx.set('ETag', '"' + '0'.repeat(31) + 'k"');
});
server.run().then(
  (address) => process.stdout.write('S3RVER_READY ' + address.port + '\\n'),
  (err) => { console.error(err); process.exit(1); },
);
process.stdin.on('end', () => process.exit(0)).resume();
`;

export async function startS3({
  bucket = 'opskit-test',
  silent = true,
  multipartAbort = true,
  tamper = '',
}: {
  bucket?: string;
  silent?: boolean;
  multipartAbort?: boolean;
  /** Damage on the way ('flip-upload') or ETags that are no MD5 ('opaque-etag'); see SERVER. */
  tamper?: '' | 'flip-upload' | 'opaque-etag';
} = {}): Promise<S3Server> {
  const tmp = await tempDir('opskit-s3rver-');
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // jest's --experimental-vm-modules is not for the server
  const proc = startProcess(
    process.execPath,
    ['--openssl-legacy-provider', '-e', SERVER, tmp.path, bucket, String(silent), String(multipartAbort), tamper],
    { cwd: process.cwd(), env, stdio: ['pipe', 'pipe', 'pipe'] },
  );

  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`s3rver did not start in 15 s:\n${proc.output()}`)), 15_000);
      const onData = () => {
        const m = /S3RVER_READY (\d+)/.exec(proc.output());
        if (!m) return;
        clearTimeout(timer);
        proc.child.stdout?.off('data', onData);
        resolve(Number(m[1]));
      };
      proc.child.stdout?.on('data', onData);
      proc.child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`s3rver exited (${code}) before it was ready:\n${proc.output()}`));
      });
      proc.child.once('error', reject);
    });
  } catch (err) {
    await proc.stop();
    await tmp.cleanup();
    throw err;
  }

  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    region: 'us-east-1',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    dir: tmp.path,
    output: proc.output,
    stop: () =>
      (stopped ??= (async () => {
        proc.child.stdin?.end();
        await proc.stop();
        await tmp.cleanup();
      })()),
  };
}
