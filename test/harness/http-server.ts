/** Real HTTP(S) servers on loopback for tests, with a handler per test and clean shutdown. */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { runProcess } from './process.js';
import { tempDir } from './tmp.js';

export interface TestServer {
  url: string;
  port: number;
  /** Requests seen, in order (method, path, headers). */
  requests: { method: string; url: string; headers: http.IncomingHttpHeaders }[];
  close(): Promise<void>;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export async function startHttpServer(handler: Handler, tls?: { key: string; cert: string }): Promise<TestServer> {
  const requests: TestServer['requests'] = [];
  const wrapped: Handler = (req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    handler(req, res);
  };
  const server = tls ? https.createServer(tls, wrapped) : http.createServer(wrapped);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://${tls ? 'localhost' : '127.0.0.1'}:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function json(res: http.ServerResponse, status: number, body: unknown, delayMs = 0): void {
  const send = () => {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (delayMs > 0) setTimeout(send, delayMs);
  else send();
}

/** A self-signed certificate for `localhost` valid for `days` days, made by the system openssl. */
export async function selfSignedCert(
  days: number,
): Promise<{ key: string; cert: string; certFile: string; cleanup(): Promise<void> }> {
  const dir = await tempDir('opskit-cert-');
  const keyFile = path.join(dir.path, 'key.pem');
  const certFile = path.join(dir.path, 'cert.pem');
  const r = await runProcess('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    String(days),
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ]);
  if (r.code !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  return {
    key: await readFile(keyFile, 'utf8'),
    cert: await readFile(certFile, 'utf8'),
    certFile,
    cleanup: dir.cleanup,
  };
}
