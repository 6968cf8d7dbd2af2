import type { JSONPathQuery } from 'json-p3';
import type { StatusMatcher, TextMatcher } from '../inputs.js';
import type { TlsInfo } from '../http/request.js';
import type { LatencySummary } from '../util/stats.js';

export interface JsonExpectation {
  path: string;
  query: JSONPathQuery;
  expected: ValueMatcher;
}

export interface ValueMatcher {
  text: string;
  test(value: unknown): boolean;
}

export interface SmokeCheck {
  name: string;
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: string;
  expectStatus: StatusMatcher;
  expectJson: JsonExpectation[];
  expectBody?: TextMatcher;
  maxLatencyMs?: number;
}

export interface SmokeOptions {
  checks: SmokeCheck[];
  /** Overall deadline for every check to become healthy. */
  timeoutMs: number;
  requestTimeoutMs: number;
  retryIntervalMs: number;
  maxRetryIntervalMs: number;
  consecutiveSuccesses: number;
  samples: number;
  latencyP95Ms?: number;
  concurrency: number;
  tlsMinDays?: number;
  /** Values that must never appear in a message (header values). */
  secrets: string[];
}

export interface CheckResult {
  name: string;
  method: string;
  url: string;
  passed: boolean;
  attempts: number;
  durationMs: number;
  reason?: string;
  status?: number;
  latencyMs: LatencySummary;
  tls?: TlsInfo;
}

export interface SmokeReport {
  tool: 'smoke-test';
  passed: boolean;
  failed: string[];
  startedAt: string;
  durationMs: number;
  p95Ms?: number;
  checks: CheckResult[];
}
