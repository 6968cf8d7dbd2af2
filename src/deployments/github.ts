/**
 * A GitHub Deployment for a deploy: created `in_progress`, then `success` or `failure` (with the
 * run's log URL); a rollback marks it `failure` and says so.
 */
import { ExternalError } from '../errors.js';
import { createGitHubClient, gitHubError, githubCall } from '../github/client.js';
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
  // The shared client: retry and throttling plugins, timeouts, errors that name the missing permission.
  const octokit = createGitHubClient({ token: o.token, baseUrl: o.apiUrl, logger: o.logger });
  const doing = `create the GitHub Deployment for ${o.environment} in ${o.owner}/${o.repo}`;
  const r = await githubCall({ doing, permission: 'deployments: write' }, () =>
    octokit.rest.repos.createDeployment({
      owner: o.owner,
      repo: o.repo,
      ref: o.ref,
      environment: o.environment,
      auto_merge: false,
      required_contexts: [],
      description: o.description.slice(0, 140),
    }),
  );
  if (!('id' in r.data))
    throw new ExternalError(
      `GitHub did not ${doing}: ${(r.data as { message?: string }).message ?? 'no reason given'}`,
    );
  const id = r.data.id;
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
        const why = gitHubError(err, {
          doing: `set the GitHub Deployment status to ${state}`,
          permission: 'deployments: write',
        });
        o.logger.warning(why.message);
      }
    },
  };
  await deployment.status('in_progress', o.description);
  return deployment;
}
