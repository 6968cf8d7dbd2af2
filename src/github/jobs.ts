/** The failed jobs and steps of a workflow run, read through the Actions API. */
import { githubCall, type GitHub } from './client.js';
import type { RepoRef } from './context.js';

export interface FailedStep {
  number: number;
  name: string;
  conclusion: string;
  /** Link to the step's log lines. */
  url?: string;
  completedAt?: string;
}

export interface FailedJob {
  id: number;
  name: string;
  /** `failure`, `timed_out`, or `in_progress` for a running job that already has a failed step (this one). */
  conclusion: string;
  url?: string;
  startedAt?: string;
  completedAt?: string;
  failedSteps: FailedStep[];
}

const FAILED = new Set(['failure', 'timed_out']);

/** Every job of the run's latest attempt, as the Actions API lists them. */
export async function listRunJobs(gh: GitHub, repo: RepoRef, runId: number) {
  return githubCall(
    { doing: `read the jobs of run ${runId} in ${repo.owner}/${repo.repo}`, permission: 'actions: read' },
    () =>
      gh.paginate(gh.rest.actions.listJobsForWorkflowRun, {
        owner: repo.owner,
        repo: repo.repo,
        run_id: runId,
        filter: 'latest',
        per_page: 100,
      }),
  );
}

/** When the run's work began: the earliest start of its jobs (undefined when none has started). */
export async function runStartedAt(gh: GitHub, repo: RepoRef, runId: number): Promise<Date | undefined> {
  const starts = (await listRunJobs(gh, repo, runId))
    .map((j) => (j.started_at ? new Date(j.started_at) : undefined))
    .filter((d): d is Date => d !== undefined && !Number.isNaN(d.getTime()));
  return starts.length ? new Date(Math.min(...starts.map((d) => d.getTime()))) : undefined;
}

/** Jobs of the run's latest attempt that failed, or that are still running with a failed step. */
export async function listFailedJobs(gh: GitHub, repo: RepoRef, runId: number): Promise<FailedJob[]> {
  const jobs = await listRunJobs(gh, repo, runId);
  const failed: FailedJob[] = [];
  for (const job of jobs) {
    const steps = (job.steps ?? []).filter((s) => s.conclusion && FAILED.has(s.conclusion));
    const jobFailed = job.conclusion ? FAILED.has(job.conclusion) : steps.length > 0;
    if (!jobFailed) continue;
    failed.push({
      id: job.id,
      name: job.name,
      conclusion: job.conclusion ?? job.status,
      url: job.html_url ?? undefined,
      startedAt: job.started_at ?? undefined,
      completedAt: job.completed_at ?? undefined,
      failedSteps: steps.map((s) => ({
        number: s.number,
        name: s.name,
        conclusion: s.conclusion ?? 'failure',
        url: job.html_url ? `${job.html_url}#step:${s.number}:1` : undefined,
        completedAt: s.completed_at ?? undefined,
      })),
    });
  }
  return failed;
}

/** The earliest moment something failed: a failed step's end, else a failed job's end. */
export function firstFailureTime(jobs: readonly FailedJob[]): Date | undefined {
  const times = jobs
    .flatMap((j) => (j.failedSteps.length ? j.failedSteps.map((s) => s.completedAt) : [j.completedAt]))
    .filter((t): t is string => !!t)
    .map((t) => new Date(t))
    .filter((d) => !Number.isNaN(d.getTime()));
  if (times.length === 0) return undefined;
  return new Date(Math.min(...times.map((d) => d.getTime())));
}
