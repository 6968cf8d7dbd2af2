/**
 * The health gate: every server of the target colour must answer its health path with a 2xx `successes`
 * times in a row before any traffic moves. Probes go to the servers directly, from this runner (HttpProbe)
 * or, when nginx is reached over ssh, from the nginx host with curl (HostProbe): that host is the one whose
 * view of the servers matters, and private addresses are often reachable only from there.
 */
import { httpRequest, RequestFailure } from '../http/request.js';
import type { Logger } from '../logger.js';
import type { Host } from '../ssh/host.js';
import { formatDuration, sleep } from '../util/time.js';
import type { Colour, GateReport, HealthOptions, HealthProbe, ProbeResult } from './types.js';

export function probeUrl(server: string, path: string): URL {
  return new URL(`http://${server}${path}`);
}

export class HttpProbe implements HealthProbe {
  readonly where = 'this runner';

  async probe(server: string, path: string, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
    const started = performance.now();
    try {
      const res = await httpRequest({
        url: probeUrl(server, path),
        method: 'GET',
        headers: { connection: 'close', 'user-agent': 'opskit-blue-green-switch' },
        timeoutMs,
        signal,
        maxBodyBytes: 4096,
      });
      return { ok: res.status >= 200 && res.status < 300, detail: String(res.status), latencyMs: res.latencyMs };
    } catch (err) {
      const detail = err instanceof RequestFailure ? err.message : String(err);
      return { ok: false, detail, latencyMs: performance.now() - started };
    }
  }
}

/** curl on the nginx host: `curl -sS -o /dev/null -w %{http_code} --max-time 5 http://server/health`. */
export class HostProbe implements HealthProbe {
  readonly where: string;

  constructor(private readonly host: Host) {
    this.where = host.label;
  }

  async probe(server: string, path: string, timeoutMs: number): Promise<ProbeResult> {
    const started = performance.now();
    const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
    const argv = ['curl', '-sS', '--globoff', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', String(seconds)];
    const result = await this.host.exec([...argv, '--', probeUrl(server, path).toString()], {
      privileged: false,
      timeoutMs: timeoutMs + 30_000,
    });
    const latencyMs = performance.now() - started;
    const status = Number(result.stdout.toString().trim());
    if (result.code === 0 && status > 0)
      return { ok: status >= 200 && status < 300, detail: String(status), latencyMs };
    const why =
      result.stderr
        .trim()
        .split('\n')
        .pop()
        ?.replace(/^curl: \(\d+\)\s*/, '') ?? '';
    if (result.code === 127) return { ok: false, detail: `curl was not found on ${this.host.label}`, latencyMs };
    return { ok: false, detail: why || `curl exited with code ${result.code}`, latencyMs };
  }
}

/** Probes every server until each has `successes` passes in a row, or the timeout passes. */
export async function healthGate(
  colour: Colour,
  servers: readonly string[],
  probe: HealthProbe,
  options: HealthOptions,
  logger: Logger,
  signal?: AbortSignal,
): Promise<GateReport> {
  const started = performance.now();
  const deadline = started + options.timeoutMs;
  logger.info(
    `health gate: ${servers.length} ${colour} server(s) must answer ${options.path} with 2xx ${options.successes} times in a row ` +
      `within ${formatDuration(options.timeoutMs)} (probed from ${probe.where})`,
  );
  let lastProgress = performance.now();
  const reports = await Promise.all(
    servers.map(async (server) => {
      let streak = 0;
      let attempts = 0;
      let detail = '';
      for (;;) {
        const remaining = deadline - performance.now();
        if (remaining <= 0) break;
        attempts++;
        const result = await probe.probe(
          server,
          options.path,
          Math.round(Math.min(5000, Math.max(250, remaining))),
          signal,
        );
        detail = result.detail;
        streak = result.ok ? streak + 1 : 0;
        if (streak >= options.successes) {
          logger.info(`health gate: ${colour} ${server} healthy (${streak} in a row, ${attempts} probes)`);
          return { server, ok: true, attempts, detail };
        }
        if (performance.now() - lastProgress >= 10_000) {
          lastProgress = performance.now();
          logger.info(
            `health gate: ${colour} ${server} ${detail} (${streak}/${options.successes} in a row, ` +
              `${formatDuration(performance.now() - started)} of ${formatDuration(options.timeoutMs)})`,
          );
        }
        if (performance.now() + options.intervalMs > deadline) break;
        await sleep(options.intervalMs, signal);
      }
      return { server, ok: false, attempts, detail };
    }),
  );
  return { ok: reports.every((r) => r.ok), colour, durationMs: performance.now() - started, servers: reports };
}

export function describeGateFailure(gate: GateReport, options: HealthOptions): string {
  const bad = gate.servers.filter((s) => !s.ok);
  return (
    `${gate.colour} is not healthy: ${bad.map((s) => `${s.server}${options.path}: ${s.detail}`).join('; ')} ` +
    `(needed ${options.successes} 2xx in a row within ${formatDuration(options.timeoutMs)})`
  );
}
