/**
 * A GitHub Deployment for a deploy: created `in_progress`, then `success` or `failure` (with the
 * run's log URL); a rollback marks it `failure` and says so.
 */
import { Octokit } from '@octokit/rest';
import { ExternalError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';

export interface GitHubDeploymentOptions {
  token: string;
  apiUrl: string;
  owner: string;
  repo: string;
  ref: string;
  environment: string;
  environmentUrl?: string;
  logUrl?: string;
  description: string;
  logger: Logger;
}

export interface GitHubDeployment {
  id: number;
  url: string;
  status(state: 'in_progress' | 'success' | 'failure' | 'error', description: string): Promise<void>;
}

export async function createGitHubDeployment(o: GitHubDeploymentOptions): Promise<GitHubDeployment> {
  const octokit = new Octokit({ auth: o.token, baseUrl: o.apiUrl, request: { timeout: 30_000 } });
  let id: number;
  try {
    const r = await octokit.rest.repos.createDeployment({
      owner: o.owner,
      repo: o.repo,
      ref: o.ref,
      environment: o.environment,
      auto_merge: false,
      required_contexts: [],
      description: o.description.slice(0, 140),
    });
    if (!('id' in r.data))
      throw new ExternalError(
        `GitHub did not create the deployment: ${(r.data as { message?: string }).message ?? 'no reason given'}`,
      );
    id = r.data.id;
  } catch (err) {
    throw new ExternalError(
      `cannot create the GitHub Deployment for ${o.environment}${permissionHint(err)}: ${errorMessage(err)}`,
    );
  }
  const deployment: GitHubDeployment = {
    id,
    url: `${o.apiUrl.replace(/\/+$/, '')}/repos/${o.owner}/${o.repo}/deployments/${id}`,
    async status(state, description) {
      try {
        await octokit.rest.repos.createDeploymentStatus({
          owner: o.owner,
          repo: o.repo,
          deployment_id: id,
          state,
          description: description.slice(0, 140),
          log_url: o.logUrl,
          environment_url: o.environmentUrl,
          auto_inactive: state === 'success',
        });
      } catch (err) {
        o.logger.warning(
          `could not set the GitHub Deployment status to ${state}${permissionHint(err)}: ${errorMessage(err)}`,
        );
      }
    },
  };
  await deployment.status('in_progress', o.description);
  return deployment;
}

function permissionHint(err: unknown): string {
  return (err as { status?: number }).status === 403 ? ' (the workflow needs permissions: deployments: write)' : '';
}
