/**
 * One HTTP(S) request with a per-request timeout and an outer abort signal, timing the whole
 * exchange and, for https, reading the server certificate's expiry. Built on node:http/https
 * because fetch does not expose the peer certificate.
 */
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';

export interface HttpRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  agents?: Agents;
  /** Bodies longer than this are cut (the rest is read and dropped). */
  maxBodyBytes?: number;
}

export interface TlsInfo {
  validTo: string;
  daysLeft: number;
  subject?: string;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  latencyMs: number;
  tls?: TlsInfo;
}

export interface Agents {
  http: http.Agent;
  https: https.Agent;
  destroy(): void;
}

export function keepAliveAgents(maxSockets = 64): Agents {
  const a = new http.Agent({ keepAlive: true, maxSockets });
  const b = new https.Agent({ keepAlive: true, maxSockets });
  return {
    http: a,
    https: b,
    destroy() {
      a.destroy();
      b.destroy();
    },
  };
}

/** A request that did not produce a response: refused, reset, timed out, TLS failure. */
export class RequestFailure extends Error {
  constructor(
    message: string,
    readonly latencyMs: number,
  ) {
    super(message);
  }
}

const DAY_MS = 86_400_000;

export function httpRequest(req: HttpRequest): Promise<HttpResponse> {
  const isHttps = req.url.protocol === 'https:';
  const lib = isHttps ? https : http;
  const maxBody = req.maxBodyBytes ?? 1024 * 1024;
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  const timeout = AbortSignal.timeout(req.timeoutMs);
  const signal = req.signal ? AbortSignal.any([timeout, req.signal]) : timeout;

  return new Promise<HttpResponse>((resolve, reject) => {
    const fail = (err: unknown) => reject(new RequestFailure(describeFailure(err, timeout, req), elapsed()));
    const request = lib.request(
      req.url,
      {
        method: req.method,
        headers:
          req.body !== undefined ? { 'content-length': Buffer.byteLength(req.body), ...req.headers } : req.headers,
        agent: isHttps ? req.agents?.https : req.agents?.http,
        signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const tls = isHttps ? readCertificate(res.socket as TLSSocket) : undefined;
        res.on('data', (chunk: Buffer) => {
          if (size < maxBody) chunks.push(chunk.subarray(0, maxBody - size));
          size += chunk.length;
        });
        res.on('error', fail);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            latencyMs: elapsed(),
            tls,
          }),
        );
      },
    );
    request.on('error', fail);
    request.end(req.body);
  });
}

function readCertificate(socket: TLSSocket): TlsInfo | undefined {
  const cert = socket.getPeerCertificate?.();
  if (!cert || !cert.valid_to) return undefined;
  const validTo = new Date(cert.valid_to);
  return {
    validTo: validTo.toISOString(),
    daysLeft: Math.floor((validTo.getTime() - Date.now()) / DAY_MS),
    subject: typeof cert.subject?.CN === 'string' ? cert.subject.CN : undefined,
  };
}

function describeFailure(err: unknown, timeout: AbortSignal, req: HttpRequest): string {
  if (timeout.aborted) return `no response within ${req.timeoutMs}ms (request-timeout)`;
  if (req.signal?.aborted) return 'stopped: the overall deadline passed';
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset by the server';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host ${req.url.hostname} not found`;
    case 'CERT_HAS_EXPIRED':
      return 'TLS certificate has expired';
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
      return `TLS certificate is not trusted (${e.code}); set NODE_EXTRA_CA_CERTS to its CA`;
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `TLS certificate does not cover ${req.url.hostname}`;
    default:
      return e.code ? `${e.code}: ${e.message}` : String(e.message ?? err);
  }
}
