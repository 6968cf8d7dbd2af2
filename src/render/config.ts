/** deploy-render inputs → typed options, checked before any request. */
import { ConfigurationError, inputError } from '../errors.js';
import type { Inputs } from '../inputs.js';

export const RENDER_ACTIONS = [
  'deploy',
  'rollback',
  'status',
  'cancel',
  'suspend',
  'resume',
  'restart',
  'scale',
] as const;
export type RenderAction = (typeof RENDER_ACTIONS)[number];

export interface RenderConfig {
  apiKey?: string;
  serviceId?: string;
  serviceName?: string;
  apiUrl: string;
  action: RenderAction;
  commit?: string;
  imageUrl?: string;
  clearCache: boolean;
  deployHookUrl?: string;
  deployId?: string;
  instances?: number;
  wait: boolean;
  timeoutMs: number;
  cancelOnTimeout: boolean;
  rollbackOnFailure: boolean;
  resumeIfSuspended: boolean;
  supersededIsFailure: boolean;
  /** action status: fail unless the deploy is live and has been since at least this long ago (a soak). */
  liveForMs?: number;
  github?: { token: string; environment: string; environmentUrl?: string };
}

export function parseRenderConfig(inputs: Inputs): RenderConfig {
  const action = inputs.enum('action', RENDER_ACTIONS, 'deploy');
  const apiKey = inputs.raw('api-key') || undefined;
  const hook = inputs.url('deploy-hook-url', ['https:', 'http:']);
  let serviceId = inputs.raw('service-id') || undefined;
  const serviceName = inputs.raw('service-name') || undefined;
  if (serviceId && serviceName)
    throw new ConfigurationError("inputs 'service-id' and 'service-name': give one of them, not both");
  if (serviceId && !/^srv-[a-z0-9]+$/i.test(serviceId))
    throw inputError('service-id', 'a Render service id like srv-abc123', serviceId);
  if (hook && action !== 'deploy')
    throw new ConfigurationError(`input 'deploy-hook-url' triggers deploys; it cannot ${action}`);
  if (!apiKey && !hook)
    throw new ConfigurationError(
      "input 'api-key' is required (or deploy-hook-url, to trigger a deploy without following it)",
    );
  if (hook && !serviceId && !serviceName) serviceId = /\/deploy\/(srv-[a-z0-9]+)/i.exec(hook.pathname)?.[1];
  if (apiKey && !serviceId && !serviceName)
    throw new ConfigurationError("input 'service-id' or 'service-name' is required");
  const commit = inputs.raw('commit') || undefined;
  const imageUrl = inputs.raw('image-url') || undefined;
  if (commit && imageUrl)
    throw new ConfigurationError(
      "inputs 'commit' and 'image-url': a deploy is either a commit (Git-backed service) or an image (image-backed service), not both",
    );
  if (commit && !/^[0-9a-f]{7,40}$/i.test(commit))
    throw inputError('commit', 'a Git commit SHA (7 to 40 hex characters)', commit);
  if ((commit || imageUrl || inputs.has('clear-cache')) && action !== 'deploy') {
    throw new ConfigurationError(
      `inputs 'commit', 'image-url' and 'clear-cache' apply to action deploy, not ${action}`,
    );
  }
  if (hook && (commit || imageUrl))
    throw new ConfigurationError(
      "input 'deploy-hook-url' deploys what the hook is set up for; commit and image-url need the API (api-key)",
    );
  const instances = inputs.has('instances') ? inputs.integer('instances', 1, 1, 100) : undefined;
  if (action === 'scale' && instances === undefined)
    throw new ConfigurationError("input 'instances' is required with action: scale (a whole number from 1 to 100)");
  if (instances !== undefined && action !== 'scale')
    throw new ConfigurationError(`input 'instances' applies to action scale, not ${action}`);
  const liveForMs = inputs.has('live-for') ? inputs.duration('live-for', '0s') : undefined;
  if (liveForMs !== undefined && action !== 'status')
    throw new ConfigurationError(`input 'live-for' applies to action status (a soak check), not ${action}`);
  const deployId = inputs.raw('deploy-id') || undefined;
  if (deployId && deployId !== 'previous' && !/^dep-[a-z0-9]+$/i.test(deployId))
    throw inputError('deploy-id', 'a deploy id like dep-abc123, or previous', deployId);
  const githubToken = inputs.raw('github-token');
  const environment = inputs.raw('environment');
  if (Boolean(githubToken) !== Boolean(environment) && inputs.has('environment')) {
    throw new ConfigurationError(
      "inputs 'github-token' and 'environment' go together: the GitHub Deployment needs both",
    );
  }
  return {
    apiKey,
    serviceId,
    serviceName,
    apiUrl: (inputs.url('api-url') ?? new URL('https://api.render.com/v1')).toString().replace(/\/$/, ''),
    action,
    commit,
    imageUrl,
    clearCache: inputs.boolean('clear-cache', false),
    deployHookUrl: hook?.toString(),
    deployId,
    instances,
    wait: inputs.boolean('wait', true),
    timeoutMs: inputs.duration('timeout', '30m'),
    cancelOnTimeout: inputs.boolean('cancel-on-timeout', true),
    rollbackOnFailure: inputs.boolean('rollback-on-failure', true),
    resumeIfSuspended: inputs.boolean('resume-if-suspended', false),
    supersededIsFailure: inputs.boolean('superseded-is-failure', false),
    liveForMs,
    github:
      githubToken && environment
        ? { token: githubToken, environment, environmentUrl: inputs.url('environment-url')?.toString() }
        : undefined,
  };
}
