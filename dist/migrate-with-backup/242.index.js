export const id = 242;
export const ids = [242];
export const modules = {

/***/ 51242:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  PART_SIZE: () => (/* binding */ PART_SIZE),
  QUEUE_SIZE: () => (/* binding */ QUEUE_SIZE),
  createS3Store: () => (/* binding */ createS3Store),
  normalizePrefix: () => (/* reexport */ types/* normalizePrefix */.i),
  s3Error: () => (/* binding */ s3Error)
});

// EXTERNAL MODULE: ./node_modules/@aws-sdk/client-s3/dist-cjs/index.js
var dist_cjs = __webpack_require__(53711);
// EXTERNAL MODULE: external "node:http"
var external_node_http_ = __webpack_require__(37067);
// EXTERNAL MODULE: external "node:stream"
var external_node_stream_ = __webpack_require__(57075);
// EXTERNAL MODULE: ./build/ncc/src/errors.js
var errors = __webpack_require__(78999);
;// CONCATENATED MODULE: ./build/ncc/src/logger.js
const silentLogger = {
    debug() { },
    info() { },
    warning() { },
    error() { },
};
/** A logger that keeps every line, for tests. */
function memoryLogger() {
    const lines = [];
    const push = (level) => (m) => void lines.push(`${level}: ${m}`);
    return { lines, debug: push('debug'), info: push('info'), warning: push('warning'), error: push('error') };
}

// EXTERNAL MODULE: ./build/ncc/src/redact.js
var redact = __webpack_require__(16385);
// EXTERNAL MODULE: ./build/ncc/src/storage/file.js
var file = __webpack_require__(29152);
// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(77598);
;// CONCATENATED MODULE: ./build/ncc/src/storage/s3-integrity.js
/**
 * Whether the S3 service confirmed, on upload, that it received exactly the bytes we sent, so that a
 * caller may skip reading the object back.
 *
 * The evidence is the ETag S3 returns for every part (UploadPart) or for a single-request upload
 * (PutObject): for an object that is not encrypted with SSE-KMS or SSE-C it is the MD5 of the bytes the
 * service received, computed by the service. We compute the MD5 of every part of our own stream as it
 * passes (parts cut where s3-multipart.ts cuts them, as `@aws-sdk/lib-storage` does: every `partSize` bytes,
 * the last part possibly full) and confirm only when
 * - the service returned, for part 1…N, exactly the MD5 of our bytes of that part, and
 * - the CompleteMultipartUpload that assembled the object listed exactly parts 1…N with those ETags
 *   (or, for one part, the PutObject returned the MD5 of the whole body).
 * Anything else (a service whose ETags are not MD5s, a part we did not see, a different count) is "not
 * confirmed" and the caller reads the object back, as it always did: a wrong guess can only cost time.
 *
 * Those parts are sent with an unsigned payload (see uploadWatcher): their check is the ETag, not SigV4's hash.
 *
 * The SDK's flexible checksums (`x-amz-checksum-*`, ChecksumAlgorithm) would say the same on AWS, but
 * s3rver (tests, bench) and several S3-compatible services neither check nor return them, and computing
 * them costs one more pass over every byte; the MD5 ETag is what S3 and its look-alikes all return.
 */

/** MD5s (hex) of consecutive `partSize`-byte parts of a stream, fed chunk by chunk. */
class PartDigests {
    partSize;
    md5s = [];
    current;
    inPart = 0;
    constructor(partSize) {
        this.partSize = partSize;
    }
    update(buf) {
        let off = 0;
        while (off < buf.length) {
            if (!this.current || this.inPart === this.partSize) {
                if (this.current)
                    this.md5s.push(this.current.digest('hex'));
                this.current = (0,external_node_crypto_.createHash)('md5');
                this.inPart = 0;
            }
            const n = Math.min(buf.length - off, this.partSize - this.inPart);
            this.current.update(off === 0 && n === buf.length ? buf : buf.subarray(off, off + n));
            this.inPart += n;
            off += n;
        }
    }
    /** The MD5 of every part; an empty stream is one empty part. */
    finish() {
        this.md5s.push((this.current ?? (0,external_node_crypto_.createHash)('md5')).digest('hex'));
        this.current = undefined;
        return this.md5s;
    }
}
const etagOf = (v) => typeof v === 'string' ? v.replace(/^(W\/)?"|"$/g, '').toLowerCase() : undefined;
/**
 * Adds a middleware to the client that records, for the keys being watched, the ETags the service returns.
 * `watch(key)` starts watching a key and returns what was seen and a function that stops watching it.
 */
function uploadWatcher(client) {
    const watches = new Map();
    client.middlewareStack.add((next, context) => async (args) => {
        const result = await next(args);
        const input = args.input;
        const w = input.Key === undefined ? undefined : watches.get(input.Key);
        if (w) {
            const output = result.output;
            const etag = etagOf(output?.ETag);
            if (context.commandName === 'UploadPartCommand' && input.PartNumber !== undefined && etag)
                w.parts.set(input.PartNumber, etag);
            else if (context.commandName === 'PutObjectCommand' && etag)
                w.single = etag;
            else if (context.commandName === 'CompleteMultipartUploadCommand')
                w.completed = (input.MultipartUpload?.Parts ?? []).map((p) => ({
                    partNumber: p.PartNumber ?? 0,
                    etag: etagOf(p.ETag) ?? '',
                }));
        }
        return result;
    }, { step: 'initialize', name: 'opskitUploadEtags' });
    // The bytes of a watched upload are checked by their ETags (else read back), so SigV4 need not hash every
    // part once more for its payload hash: UNSIGNED-PAYLOAD (what the SDK itself sends for unknown-length
    // streams; S3 and its look-alikes accept it) saves a sha256 pass over the whole backup in this process.
    // Over HTTPS, TLS protects the bytes on the way as well.
    client.middlewareStack.add((next, context) => async (args) => {
        const input = args.input;
        const request = args.request;
        if (request?.headers &&
            input.Key !== undefined &&
            watches.has(input.Key) &&
            (context.commandName === 'UploadPartCommand' || context.commandName === 'PutObjectCommand'))
            request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
        return next(args);
    }, { step: 'build', name: 'opskitUnsignedPayload' });
    return (key) => {
        const seen = { parts: new Map() };
        watches.set(key, seen);
        return { seen, stop: () => watches.delete(key) };
    };
}
/**
 * Whether the service confirmed our parts (`md5s`, in order): a sentence saying how when it did, else
 * undefined (with `why` set to the reason, for the log).
 */
function confirmation(md5s, seen) {
    if (md5s.length === 1 && seen.single !== undefined) {
        return seen.single === md5s[0]
            ? { confirmed: 'the service returned the MD5 of the bytes it received (ETag), equal to ours' }
            : { why: 'the ETag the service returned is not the MD5 of the bytes sent' };
    }
    const listed = seen.completed;
    if (!listed)
        return { why: 'the service did not report the parts it assembled' };
    if (listed.length !== md5s.length)
        return { why: `${listed.length} parts were assembled, ${md5s.length} were sent` };
    for (let i = 0; i < md5s.length; i++) {
        const part = listed[i];
        if (part.partNumber !== i + 1)
            return { why: `part ${i + 1} is not where it belongs in the assembled object` };
        if (seen.parts.get(i + 1) !== md5s[i] || part.etag !== md5s[i])
            return {
                why: `the ETag of part ${i + 1} is not the MD5 of the bytes sent (a service whose ETags are not MD5s, e.g. SSE-KMS, or damage on the way)`,
            };
    }
    return {
        confirmed: `the service returned, for each of the ${md5s.length} parts, the MD5 of the bytes it received (ETag), equal to ours`,
    };
}

;// CONCATENATED MODULE: ./build/ncc/src/storage/s3-multipart.js
/**
 * Streams bytes into one S3 object: a single PutObject when they fit in one part, else a multipart upload
 * of `partSize` parts, at most `queueSize` in flight. Parts are cut exactly where `@aws-sdk/lib-storage`
 * cuts them (every `partSize` bytes; an exact multiple ends with a full part; at most one part is a
 * PutObject), so the MD5s of s3-integrity.ts line up.
 *
 * Why not lib-storage's `Upload`: it concatenates the chunks of every part into a new buffer (and the
 * remainder again with the next chunk), and the garbage of those fresh 8 MiB buffers makes V8 collect
 * often. Profiled on a 1 GiB md5 backup to s3rver: 355 ms of Buffer.concat and 1.86 s of GC in the
 * action's process with it, no concat and 1.44 s of GC with this. Here the bytes are copied once, into at
 * most `queueSize + 1` part buffers that are reused.
 *
 * On any failure (the source's, the service's, an abort that destroys the source) no more parts are
 * sent, the parts in flight settle, and the error is thrown with `uploadId()` still telling the caller
 * which multipart upload to abort: nothing is aborted here, so that a failing abort cannot hide the cause.
 */

/** S3's limit on the parts of one multipart upload. */
const MAX_PARTS = 10_000;
function uploadStream(source, target) {
    let id;
    const done = run(source, target, (v) => (id = v));
    return { done, uploadId: () => id };
}
async function run(source, t, setUploadId) {
    const { client, bucket: Bucket, key: Key, partSize } = t;
    // Part buffers not in flight. send() keeps at most queueSize in flight, so with the one being filled no
    // more than queueSize + 1 are ever made.
    const free = [];
    const take = () => free.pop() ?? Buffer.allocUnsafeSlow(partSize);
    let created;
    const uploadId = () => (created ??= client
        .send(new dist_cjs/* CreateMultipartUploadCommand */.nG4({ Bucket, Key, ContentType: t.contentType }))
        .then(({ UploadId }) => {
        if (!UploadId)
            throw new Error('CreateMultipartUpload answered without an UploadId');
        setUploadId(UploadId);
        return UploadId;
    }));
    const parts = [];
    const inFlight = new Set();
    // The first failure (the closures set it, so it lives in an object TypeScript does not narrow).
    const state = {};
    const throwIfFailed = () => {
        if (state.failure)
            throw state.failure.error;
    };
    /** Sends a part once fewer than queueSize are in flight (the spare buffer is filled meanwhile). */
    const send = async (buf, length, PartNumber) => {
        if (PartNumber > MAX_PARTS) {
            throw new Error(`the backup needs more than ${MAX_PARTS} parts of ${partSize / 1024 ** 2} MiB, S3's limit for one object`);
        }
        while (inFlight.size >= t.queueSize)
            await Promise.race(inFlight);
        const p = (async () => {
            try {
                const UploadId = await uploadId();
                const out = await client.send(new dist_cjs/* UploadPartCommand */.iVK({ Bucket, Key, UploadId, PartNumber, Body: buf.subarray(0, length) }));
                if (!out.ETag)
                    throw new Error(`UploadPart answered part ${PartNumber} without an ETag`);
                parts.push({
                    PartNumber,
                    ETag: out.ETag,
                    ...(out.ChecksumCRC32 && { ChecksumCRC32: out.ChecksumCRC32 }),
                    ...(out.ChecksumCRC32C && { ChecksumCRC32C: out.ChecksumCRC32C }),
                    ...(out.ChecksumSHA1 && { ChecksumSHA1: out.ChecksumSHA1 }),
                    ...(out.ChecksumSHA256 && { ChecksumSHA256: out.ChecksumSHA256 }),
                });
            }
            catch (error) {
                state.failure ??= { error };
            }
            finally {
                free.push(buf);
            }
        })();
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
    };
    let current = take();
    let fill = 0;
    let partNumber = 0;
    try {
        for await (const chunk of source) {
            let off = 0;
            while (off < chunk.length) {
                throwIfFailed();
                // A full part is sent only once more bytes come: the last part may be full (as lib-storage cuts).
                if (fill === partSize) {
                    await send(current, fill, ++partNumber);
                    current = take();
                    fill = 0;
                    throwIfFailed();
                }
                const n = chunk.copy(current, fill, off, Math.min(chunk.length, off + partSize - fill));
                fill += n;
                off += n;
            }
        }
        if (partNumber === 0) {
            // It fits in one part: one request (which is also what an empty stream gets).
            await client.send(new dist_cjs/* PutObjectCommand */.wKZ({ Bucket, Key, ContentType: t.contentType, Body: current.subarray(0, fill) }));
            return;
        }
        await send(current, fill, ++partNumber);
    }
    catch (err) {
        state.failure ??= { error: err };
    }
    // The parts in flight settle before anything else happens (no part may land after an abort).
    while (inFlight.size)
        await Promise.all(inFlight);
    throwIfFailed();
    parts.sort((a, b) => a.PartNumber - b.PartNumber);
    await client.send(new dist_cjs/* CompleteMultipartUploadCommand */.Gym({ Bucket, Key, UploadId: await uploadId(), MultipartUpload: { Parts: parts } }));
}

// EXTERNAL MODULE: ./build/ncc/src/storage/types.js
var types = __webpack_require__(18933);
;// CONCATENATED MODULE: ./build/ncc/src/storage/s3.js
/**
 * An S3 (or S3-compatible) bucket as a Store. Uploads are streamed as multipart uploads of 8 MiB
 * parts, at most 4 in flight, from reused buffers (s3-multipart.ts), so memory stays bounded whatever the
 * size of the backup; a failed upload is aborted so no object and no orphaned parts are left behind.
 *
 * Credentials come from the options or, when none are given, from the SDK's standard chain
 * (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, web identity, shared config, …).
 *
 * With a custom endpoint (MinIO, R2, Ceph, s3rver, …) the SDK's default integrity checksums
 * (`requestChecksumCalculation: WHEN_SUPPORTED`, since SDK 3.729) are turned down to
 * `WHEN_REQUIRED`: many S3-compatible services reject or mis-store the CRC32 headers and the
 * aws-chunked trailers. AWS_REQUEST_CHECKSUM_CALCULATION / AWS_RESPONSE_CHECKSUM_VALIDATION, when
 * set, still win.
 */










const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 4;
function createS3Store(options) {
    const { bucket, endpoint, credentials, forcePathStyle } = options;
    if (!bucket)
        throw new errors/* ConfigurationError */.j1('an S3 store needs a bucket');
    const root = (0,types/* normalizePrefix */.i)(options.prefix ?? '');
    const logger = options.logger ?? silentLogger;
    const pageSize = Math.min(1000, Math.max(1, options.listPageSize ?? 1000));
    const env = process.env;
    const region = options.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || (endpoint ? 'us-east-1' : undefined);
    const config = {
        region,
        endpoint,
        forcePathStyle,
        credentials,
        // Without an endpoint and a region the bucket may live anywhere: let the SDK follow the 301.
        followRegionRedirects: !endpoint,
        // A dead endpoint fails in seconds instead of hanging the job. No socket idle timeout: a
        // download may rightly pause for minutes while a restore applies back-pressure.
        requestHandler: { connectionTimeout: 10_000 },
    };
    if (endpoint) {
        if (!env.AWS_REQUEST_CHECKSUM_CALCULATION)
            config.requestChecksumCalculation = 'WHEN_REQUIRED';
        if (!env.AWS_RESPONSE_CHECKSUM_VALIDATION)
            config.responseChecksumValidation = 'WHEN_REQUIRED';
    }
    const client = new dist_cjs/* S3Client */.YxF(config);
    // Records the ETags the service returns for an upload, so that put() can say whether it confirmed the bytes.
    const watchUpload = uploadWatcher(client);
    const objectKey = (key) => {
        if (!key)
            throw new errors/* ConfigurationError */.j1('invalid backup key: it is empty');
        return root + key;
    };
    const uri = (key) => `s3://${bucket}/${root}${key}`;
    /** Every credential we know of, to scrub from a service's message (it should never echo one). */
    const secrets = () => [
        credentials?.accessKeyId,
        credentials?.secretAccessKey,
        credentials?.sessionToken,
        env.AWS_ACCESS_KEY_ID,
        env.AWS_SECRET_ACCESS_KEY,
        env.AWS_SESSION_TOKEN,
    ].filter((s) => !!s);
    const fail = (err, operation, target) => s3Error(err, operation, target, secrets());
    async function put(key, body, opts = {}) {
        const Key = objectKey(key);
        const { signal } = opts;
        if (signal?.aborted) {
            if (!body.destroyed)
                body.destroy();
            throw (0,types/* abortReason */.J)(signal);
        }
        // Count the bytes and tell the source's errors from the service's: the source is read
        // through this generator only.
        let size = 0;
        // The MD5 of each part as uploadStream cuts them (every PART_SIZE bytes), to compare with the ETags.
        const digests = new PartDigests(PART_SIZE);
        let sourceFailed = false;
        let sourceError;
        const counted = async function* () {
            try {
                for await (const chunk of body) {
                    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
                    size += buf.length;
                    digests.update(buf);
                    yield buf;
                }
            }
            catch (err) {
                sourceFailed = true;
                sourceError = err;
                throw err;
            }
        };
        // An abort ends the source: the parts in flight settle, then done rejects and the multipart upload is
        // aborted below (a part that landed after AbortMultipartUpload would be orphaned).
        const stop = () => body.destroy((0,types/* abortReason */.J)(signal));
        signal?.addEventListener('abort', stop, { once: true });
        const watch = watchUpload(Key);
        const upload = uploadStream(counted(), {
            client,
            bucket,
            key: Key,
            contentType: opts.contentType,
            partSize: PART_SIZE,
            queueSize: QUEUE_SIZE,
        });
        try {
            await upload.done;
            const { confirmed, why } = confirmation(digests.finish(), watch.seen);
            if (why)
                logger.debug(`${uri(key)}: the service did not confirm the bytes it received (${why})`);
            return { size, confirmed };
        }
        catch (err) {
            if (!body.destroyed)
                body.destroy();
            const uploadId = upload.uploadId();
            if (uploadId)
                await abortMultipart(Key, uploadId, uri(key));
            if (signal?.aborted)
                throw (0,types/* abortReason */.J)(signal);
            if (sourceFailed)
                throw sourceError;
            throw fail(err, 'upload to', uri(key));
        }
        finally {
            watch.stop();
            signal?.removeEventListener('abort', stop);
        }
    }
    async function abortMultipart(Key, UploadId, target) {
        try {
            await client.send(new dist_cjs/* AbortMultipartUploadCommand */.tfP({ Bucket: bucket, Key, UploadId }));
        }
        catch (err) {
            logger.warning(`${fail(err, 'abort of the multipart upload to', target).message}; its parts stay in the bucket ` +
                `(upload id ${UploadId}) until removed, e.g. by an AbortIncompleteMultipartUpload lifecycle rule`);
        }
    }
    async function get(key) {
        try {
            const out = await client.send(new dist_cjs/* GetObjectCommand */.jLs({ Bucket: bucket, Key: objectKey(key) }));
            if (out.Body instanceof external_node_stream_.Readable)
                return out.Body;
            if (out.Body && 'transformToWebStream' in out.Body) {
                return external_node_stream_.Readable.fromWeb(out.Body.transformToWebStream());
            }
            throw new errors/* ExternalError */.yA(`S3 download of ${uri(key)} failed: the response has no body`);
        }
        catch (err) {
            if (isNotFound(err, 'NoSuchKey'))
                throw (0,file/* notFound */.m)(uri(key));
            throw fail(err, 'download of', uri(key));
        }
    }
    async function list(prefix) {
        const out = [];
        let ContinuationToken;
        try {
            do {
                const page = await client.send(new dist_cjs/* ListObjectsV2Command */.u6x({ Bucket: bucket, Prefix: root + prefix, ContinuationToken, MaxKeys: pageSize }));
                for (const o of page.Contents ?? []) {
                    if (o.Key === undefined || !o.Key.startsWith(root))
                        continue;
                    out.push({ key: o.Key.slice(root.length), size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) });
                }
                ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
            } while (ContinuationToken);
        }
        catch (err) {
            throw fail(err, 'listing of', `s3://${bucket}/${root}${prefix}`);
        }
        return out;
    }
    async function listIncomplete(prefix) {
        const out = [];
        let KeyMarker;
        let UploadIdMarker;
        try {
            do {
                const page = await client.send(new dist_cjs/* ListMultipartUploadsCommand */.mo2({ Bucket: bucket, Prefix: root + prefix, KeyMarker, UploadIdMarker }));
                for (const u of page.Uploads ?? []) {
                    if (u.Key === undefined || u.UploadId === undefined || !u.Key.startsWith(root + prefix))
                        continue;
                    out.push({ key: u.Key.slice(root.length), id: u.UploadId, since: u.Initiated ?? new Date(0) });
                }
                const more = page.IsTruncated === true && (page.NextKeyMarker || page.NextUploadIdMarker);
                KeyMarker = more ? page.NextKeyMarker : undefined;
                UploadIdMarker = more ? page.NextUploadIdMarker : undefined;
            } while (KeyMarker !== undefined || UploadIdMarker !== undefined);
        }
        catch (err) {
            throw fail(err, 'listing of the multipart uploads under', `s3://${bucket}/${root}${prefix}`);
        }
        return out;
    }
    async function removeIncomplete(write) {
        try {
            await client.send(new dist_cjs/* AbortMultipartUploadCommand */.tfP({ Bucket: bucket, Key: objectKey(write.key), UploadId: write.id }));
        }
        catch (err) {
            if (isNotFound(err, 'NoSuchUpload'))
                return; // aborted meanwhile
            throw fail(err, `abort of the multipart upload ${write.id} to`, uri(write.key));
        }
    }
    async function remove(key) {
        try {
            await client.send(new dist_cjs/* DeleteObjectCommand */.k4j({ Bucket: bucket, Key: objectKey(key) }));
        }
        catch (err) {
            throw fail(err, 'delete of', uri(key));
        }
    }
    async function exists(key) {
        try {
            await client.send(new dist_cjs/* HeadObjectCommand */.l81({ Bucket: bucket, Key: objectKey(key) }));
            return true;
        }
        catch (err) {
            if (isNotFound(err, 'NotFound'))
                return false;
            throw fail(err, 'check of', uri(key));
        }
    }
    return {
        kind: 's3',
        bucket,
        prefix: root,
        client,
        uri,
        put,
        get,
        list,
        listIncomplete,
        removeIncomplete,
        delete: remove,
        exists,
        close: () => client.destroy(),
    };
}

function isNotFound(err, code) {
    const e = err;
    return e?.name === code || (e?.$metadata?.httpStatusCode === 404 && e?.name !== 'NoSuchBucket');
}
/**
 * An SDK error as a user-facing one: `S3 upload to s3://b/k failed: HTTP 403 AccessDenied: Access Denied`.
 * Missing credentials or region are configuration problems; nothing the service says may carry a credential.
 */
function s3Error(err, operation, target, secrets) {
    if (err instanceof errors/* ConfigurationError */.j1 || err instanceof errors/* ExternalError */.yA)
        return err;
    const e = (err ?? {});
    const text = (s) => (0,redact/* scrub */._I)(s, secrets);
    if (e.name === 'CredentialsProviderError') {
        return new errors/* ConfigurationError */.j1(`S3 ${operation} ${target} failed: no AWS credentials found (${text((0,errors/* errorMessage */.gJ)(err))}); set ` +
            'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, use aws-actions/configure-aws-credentials, or pass credentials');
    }
    if (/region is missing/i.test(e.message ?? '')) {
        return new errors/* ConfigurationError */.j1(`S3 ${operation} ${target} failed: no region configured; set a region or AWS_REGION`);
    }
    const status = e.$metadata?.httpStatusCode;
    if (status === undefined) {
        // Never reached the service (refused, DNS, TLS, timeout) or failed inside the SDK.
        return new errors/* ExternalError */.yA(`S3 ${operation} ${target} failed: ${text((0,errors/* errorMessage */.gJ)(err))}`);
    }
    const code = e.Code ?? (e.name && e.name !== 'Unknown' ? e.name : external_node_http_.STATUS_CODES[status]);
    const message = e.message && e.message !== 'UnknownError' && e.message !== code ? `: ${text(e.message)}` : '';
    return new errors/* ExternalError */.yA(`S3 ${operation} ${target} failed: HTTP ${status} ${code ?? ''}${message}`.trim(), status);
}


/***/ })

};
