/**
 * Runs smoke checks: each retries (backoff with jitter) until it passes `consecutive-successes`
 * times in a row or the overall deadline passes, then optionally takes latency samples.
 */
import { type Agents, type HttpResponse, RequestFailure, httpRequest, keepAliveAgents } from '../http/request.js';
import type { Logger } from '../logger.js';
import { redactUrl, scrub } from '../redact.js';
import { backoffDelay } from '../util/backoff.js';
import { mapWithConcurrency } from '../util/pool.js';
import { summarizeLatencies } from '../util/stats.js';
import { formatDuration, sleep } from '../util/time.js';
import { evaluateResponse } from './assert.js';
import type { CheckResult, SmokeCheck, SmokeOptions, SmokeReport } from './types.js';

interface Attempt {
  ok: boolean;
  reason?: string;
  response?: HttpResponse;
  latencyMs: number;
}

const LOG_EVERY_MS = 30_000;

export async function runSmokeTests(options: SmokeOptions, logger: Logger): Promise<SmokeReport> {
  const started = Date.now();
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const agents = keepAliveAgents(Math.max(options.concurrency, 1));
  try {
    const checks = await mapWithConcurrency(options.checks, options.concurrency, (check) =>
      runCheck(check, options, { deadline, agents, logger }),
    );
    const failed = checks.filter((c) => !c.passed).map((c) => c.name);
    const p95s = checks.map((c) => c.latencyMs.p95).filter((v): v is number => v !== undefined);
    return {
      tool: 'smoke-test',
      passed: failed.length === 0,
      failed,
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      p95Ms: p95s.length ? Math.max(...p95s) : undefined,
      checks,
    };
  } finally {
    agents.destroy();
  }
}

interface Context {
  deadline: AbortSignal;
  agents: Agents;
  logger: Logger;
}

async function runCheck(check: SmokeCheck, options: SmokeOptions, ctx: Context): Promise<CheckResult> {
  const started = performance.now();
  const clean = (text: string) => scrub(text, options.secrets);
  const latencies: number[] = [];
  let attempts = 0;
  let streak = 0;
  let failedAttempts = 0;
  let last: Attempt | undefined;
  let lastLogged = { reason: '', at: 0 };

  const result = (passed: boolean, reason?: string): CheckResult => ({
    name: check.name,
    method: check.method,
    url: redactUrl(check.url.toString()),
    passed,
    attempts,
    durationMs: Math.round(performance.now() - started),
    reason: reason === undefined ? undefined : clean(reason),
    status: last?.response?.status,
    latencyMs: summarizeLatencies(latencies),
    tls: last?.response?.tls,
  });

  while (streak < options.consecutiveSuccesses) {
    if (ctx.deadline.aborted) {
      const why = !last
        ? 'no attempt finished'
        : last.ok
          ? `only ${streak} of ${options.consecutiveSuccesses} consecutive successes before the deadline`
          : last.reason;
      return result(
        false,
        `not healthy within ${formatDuration(options.timeoutMs)} after ${attempts} attempts: ${why}`,
      );
    }
    attempts++;
    const next = await attempt(check, options, ctx);
    // A request cut by the deadline says nothing new about the service: keep the last real reason.
    if (!next.ok && ctx.deadline.aborted && last && !last.ok) continue;
    last = next;
    if (last.ok) {
      streak++;
      latencies.push(last.latencyMs);
      if (streak < options.consecutiveSuccesses) await pause(options.retryIntervalMs, ctx.deadline);
      continue;
    }
    streak = 0;
    failedAttempts++;
    const wait = backoffDelay(failedAttempts, {
      initialMs: options.retryIntervalMs,
      maxMs: options.maxRetryIntervalMs,
    });
    const now = performance.now();
    if (last.reason !== lastLogged.reason || now - lastLogged.at >= LOG_EVERY_MS) {
      ctx.logger.info(
        `${check.name}: attempt ${attempts} failed: ${clean(last.reason ?? '')}; retrying in ${formatDuration(wait)}`,
      );
      lastLogged = { reason: last.reason ?? '', at: now };
    }
    await pause(wait, ctx.deadline);
  }

  const tls = last?.response?.tls;
  if (options.tlsMinDays !== undefined && tls && tls.daysLeft < options.tlsMinDays) {
    return result(
      false,
      `TLS certificate expires in ${tls.daysLeft} days (${tls.validTo}), expected at least ${options.tlsMinDays}`,
    );
  }
  for (let i = 1; i <= options.samples; i++) {
    const sample = await attempt(check, options, ctx);
    if (!sample.ok)
      return result(false, `sample ${i} of ${options.samples} failed after the check passed: ${sample.reason}`);
    latencies.push(sample.latencyMs);
  }
  const summary = summarizeLatencies(latencies);
  if (options.latencyP95Ms !== undefined && (summary.p95 ?? 0) > options.latencyP95Ms) {
    return result(
      false,
      `p95 latency ${formatDuration(summary.p95 ?? 0)} over ${summary.count} requests, expected at most ${formatDuration(options.latencyP95Ms)}`,
    );
  }
  ctx.logger.info(`${check.name}: passed after ${attempts} attempt${attempts === 1 ? '' : 's'}`);
  return result(true);
}

async function attempt(check: SmokeCheck, options: SmokeOptions, ctx: Context): Promise<Attempt> {
  try {
    const response = await httpRequest({
      url: check.url,
      method: check.method,
      headers: check.headers,
      body: check.body,
      timeoutMs: options.requestTimeoutMs,
      signal: ctx.deadline,
      agents: ctx.agents,
    });
    const failures = evaluateResponse(check, response);
    return {
      ok: failures.length === 0,
      reason: failures.join('; ') || undefined,
      response,
      latencyMs: response.latencyMs,
    };
  } catch (err) {
    if (err instanceof RequestFailure) return { ok: false, reason: err.message, latencyMs: err.latencyMs };
    throw err;
  }
}

/** Waits, but returns quietly when the deadline passes (the loop then reports the failure). */
async function pause(ms: number, deadline: AbortSignal): Promise<void> {
  await sleep(ms, deadline).catch(() => undefined);
}
