/**
 * The bake after each step: for bake-time, requests through the load balancer (verify-url) and probes of the
 * target's servers directly (health-path). A verify request fails on a connection error, a timeout or a non-2xx
 * answer, and, once the target has all traffic, on an answer without verify-expect. A probe fails like the
 * health gate's. Failures beyond the error budget end the step at once.
 *
 * At a 100% step with verify-expect, the bake starts once the load balancer answers as the target (the reload
 * has taken effect), waiting up to settle time; errors during that wait count too.
 */
import { httpRequest, RequestFailure } from '../http/request.js';
import type { Logger } from '../logger.js';
import { formatDuration, sleep } from '../util/time.js';
import type { BakeOutcome, Colour, HealthOptions, HealthProbe, VerifyOptions } from './types.js';

export interface BakeSpec {
  /** `step 2/3: green 50%` */
  label: string;
  colour: Colour;
  share: number;
  durationMs: number;
  verify?: VerifyOptions;
  /** Match answers against verify-expect (false for a rollback: the old colour's answer is not known). */
  useExpect: boolean;
  servers: readonly string[];
  health: HealthOptions;
  probe: HealthProbe;
  budget: number;
  settleMs: number;
  /** The target's share before this step (what the configuration being replaced gave it). */
  previousShare: number;
}

const PROGRESS_EVERY_MS = 10_000;
const SETTLE_POLL_MS = 50;

/** Matching answers in a row that the previous configuration gives with a chance below 1/1000 (5 to 40). */
export function settleRun(previousShare: number): number {
  const p = previousShare / 100;
  if (p <= 0) return 5;
  if (p >= 1) return 40;
  return Math.min(40, Math.max(5, Math.ceil(Math.log(1e-3) / Math.log(p))));
}
/** 2xx answers in a row that show a rollback's reload has taken effect. */
const ROLLBACK_SETTLE_RUN = 3;
/** A partial step fails when the target never answered and chance alone would explain that less often than this. */
const NEVER_ANSWERED_P = 1e-6;

export async function bake(spec: BakeSpec, logger: Logger, signal?: AbortSignal): Promise<BakeOutcome> {
  const started = performance.now();
  const stop = new AbortController();
  const inner = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  const expect = spec.useExpect ? spec.verify?.expect : undefined;
  const strict = expect !== undefined && spec.share >= 100;
  const out: BakeOutcome = {
    ok: true,
    requests: 0,
    failed: 0,
    matched: 0,
    probes: 0,
    probeFailures: 0,
    durationMs: 0,
    failures: [],
  };
  let lastAnswer = '';
  const halt = (reason: string) => {
    if (!out.ok) return;
    out.ok = false;
    out.reason = reason;
    stop.abort();
  };
  const fail = (what: string) => {
    if (out.failures.length < 5) out.failures.push(what);
    if (out.failed + out.probeFailures > spec.budget) {
      halt(
        `${out.failed + out.probeFailures} failed request(s) (error budget ${spec.budget}); ` +
          `${spec.budget === 0 ? 'the failure was' : 'the first'}: ${out.failures[0]}`,
      );
    }
  };

  /**
   * One request through the load balancer; returns whether it answered as the target. While settling, a 2xx
   * answer is not counted (it may come from the configuration before the reload); a failure always is.
   */
  const verifyOnce = async (counting: { strict: boolean; settling?: boolean; lenient?: boolean }): Promise<boolean> => {
    const v = spec.verify!;
    try {
      const res = await httpRequest({
        url: v.url,
        method: 'GET',
        headers: { connection: 'close', 'user-agent': 'opskit-blue-green-switch' },
        timeoutMs: v.timeoutMs,
        signal: inner,
        maxBodyBytes: 64 * 1024,
      });
      if (!out.ok) return false;
      lastAnswer = `${res.status} ${snippet(res.body)}`;
      // Lenient: waiting for the reload to show, nothing counts; a 2xx is what is waited for.
      if (counting.lenient) return res.status >= 200 && res.status <= 299;
      if (res.status < 200 || res.status > 299) {
        out.requests++;
        out.failed++;
        fail(`verify-url answered ${res.status}: ${snippet(res.body)}`);
        return false;
      }
      const matched = expect?.test(res.body) ?? false;
      if (counting.settling) return matched;
      out.requests++;
      if (matched) out.matched++;
      else if (counting.strict) {
        out.failed++;
        fail(`verify-url answered without ${expect!.text}: ${snippet(res.body)}`);
      }
      return matched;
    } catch (err) {
      if (!out.ok || inner.aborted) return false;
      lastAnswer = err instanceof RequestFailure ? err.message : String(err);
      if (counting.lenient) return false;
      out.requests++;
      out.failed++;
      fail(`verify-url: ${lastAnswer}`);
      return false;
    }
  };

  const pause = async (ms: number) => {
    try {
      await sleep(ms, inner);
      return true;
    } catch {
      return false;
    }
  };

  // Settle: wait for the reload to show through the load balancer. The configuration before it already sent
  // `previousShare` percent to the target, so one matching answer proves nothing: wait for as many in a row
  // as that configuration would give by chance less than once in a thousand times.
  if (strict && spec.verify) {
    const until = performance.now() + spec.settleMs;
    const needed = settleRun(spec.previousShare);
    let run = 0;
    let seen = false;
    while (out.ok && !inner.aborted && performance.now() < until) {
      run = (await verifyOnce({ strict: false, settling: true })) ? run + 1 : 0;
      if (run >= needed) {
        seen = true;
        break;
      }
      if (!(await pause(SETTLE_POLL_MS))) break;
    }
    if (!seen && out.ok && !signal?.aborted) {
      halt(
        `verify-url did not answer with ${expect!.text} within ${formatDuration(spec.settleMs)} of the reload` +
          (lastAnswer ? ` (last answer: ${lastAnswer})` : ''),
      );
    }
  }

  // A rollback (no verify-expect) usually leaves a colour that stopped answering, and until the reload takes effect,
  // requests still reach it. Wait, up to settle time, for ROLLBACK_SETTLE_RUN 2xx answers in a row through the load
  // balancer; the failures before them are the configuration being replaced, not the target, and are not counted.
  if (!spec.useExpect && spec.verify && spec.share >= 100) {
    const until = performance.now() + spec.settleMs;
    let run = 0;
    let seen = false;
    while (out.ok && !inner.aborted && performance.now() < until) {
      run = (await verifyOnce({ strict: false, settling: true, lenient: true })) ? run + 1 : 0;
      if (run >= ROLLBACK_SETTLE_RUN) {
        seen = true;
        break;
      }
      if (!(await pause(SETTLE_POLL_MS))) break;
    }
    if (!seen && out.ok && !signal?.aborted) {
      halt(
        `verify-url did not answer 2xx ${ROLLBACK_SETTLE_RUN} times in a row within ${formatDuration(spec.settleMs)} of the reload` +
          (lastAnswer ? ` (last answer: ${lastAnswer})` : ''),
      );
    }
  }

  const bakeStart = performance.now();
  const baking = () => out.ok && !inner.aborted && performance.now() - bakeStart < spec.durationMs;
  let lastProgress = bakeStart;
  const progress = () => {
    if (performance.now() - lastProgress < PROGRESS_EVERY_MS) return;
    lastProgress = performance.now();
    const left = spec.durationMs - (performance.now() - bakeStart);
    logger.info(`${spec.label}: ${describeCounts(out, spec)} (${formatDuration(Math.max(0, left))} left)`);
  };

  const verifyLoop = async () => {
    if (!spec.verify) return;
    do {
      await verifyOnce({ strict });
      progress();
    } while (baking() && (await pause(spec.verify.intervalMs)));
  };
  const probeLoop = async () => {
    do {
      const results = await Promise.all(
        spec.servers.map((server) =>
          spec.probe.probe(server, spec.health.path, 5000, inner).then((r) => ({ server, r })),
        ),
      );
      if (!out.ok || inner.aborted) return;
      for (const { server, r } of results) {
        out.probes++;
        if (!r.ok) {
          out.probeFailures++;
          fail(`${spec.colour} ${server}${spec.health.path}: ${r.detail}`);
        }
      }
      progress();
    } while (baking() && (await pause(spec.health.intervalMs)));
  };
  if (out.ok) await Promise.all([verifyLoop(), probeLoop()]);

  if (out.ok && signal?.aborted) halt('the run was cancelled');
  if (out.ok && expect && !strict && out.requests > 0 && out.matched === 0) {
    const chance = (1 - spec.share / 100) ** out.requests;
    if (chance < NEVER_ANSWERED_P) {
      halt(
        `${spec.colour} never answered through verify-url in ${out.requests} requests at ${spec.share}% ` +
          `(no answer matched ${expect.text})`,
      );
    }
  }
  out.durationMs = performance.now() - started;
  return out;
}

export function describeCounts(
  out: Pick<BakeOutcome, 'requests' | 'failed' | 'matched' | 'probes' | 'probeFailures'>,
  spec: Pick<BakeSpec, 'verify' | 'useExpect' | 'colour'>,
): string {
  const parts: string[] = [];
  if (spec.verify) {
    let text = `${out.requests} verify request(s), ${out.failed} failed`;
    if (spec.useExpect && spec.verify.expect && out.requests > 0)
      text += `, ${Math.round((100 * out.matched) / out.requests)}% answered as ${spec.colour}`;
    parts.push(text);
  }
  parts.push(`${out.probes - out.probeFailures}/${out.probes} health probes passed`);
  return parts.join('; ');
}

function snippet(body: string): string {
  const one = body.replace(/\s+/g, ' ').trim();
  return one.length > 80 ? `${one.slice(0, 80)}…` : one || '(empty body)';
}
