import * as core from '@actions/core';
import { type GitHubDeployment, createGitHubDeployment } from '../../src/deployments/github.js';
import { ConfigurationError, ExternalError } from '../../src/errors.js';
import { RenderClient } from '../../src/render/client.js';
import { parseRenderConfig } from '../../src/render/config.js';
import { runRender, triggerHook } from '../../src/render/deploy.js';
import { formatDeploySummary } from '../../src/render/summary.js';
import { runAction } from '../common/run.js';

await runAction('deploy-render', async (ctx) => {
  const config = parseRenderConfig(ctx.inputs);
  const { runUrl } = ctx.run;

  if (!config.apiKey) {
    // Hook only: trigger, report what Render answered; nothing to follow without a key.
    const id = (await triggerHook(config.deployHookUrl!))?.id ?? '';
    ctx.output('deploy-id', id);
    ctx.output('status', 'triggered');
    ctx.output('rolled-back', 'false');
    await core.summary
      .addRaw(
        `### ✅ Deploy triggered through the deploy hook${id ? ` (${id})` : ''}\n\nSet api-key to follow it to live.\n`,
      )
      .write();
    return;
  }

  const client = new RenderClient({ baseUrl: config.apiUrl, apiKey: config.apiKey, logger: ctx.logger });
  let serviceUrl: string | undefined;
  let deployment: GitHubDeployment | undefined;
  const { repository, apiUrl, sha } = ctx.run;
  const result = await runRender({
    ...config,
    client,
    service: { id: config.serviceId, name: config.serviceName },
    logger: ctx.logger,
    events: {
      started: async (deployId, service) => {
        serviceUrl = service?.serviceDetails?.url;
        if (!config.github || deployment) return;
        if (!repository)
          throw new ConfigurationError(
            "input 'environment': a GitHub Deployment needs the repository (GITHUB_REPOSITORY), which is set only in a workflow run",
          );
        deployment = await createGitHubDeployment({
          token: config.github.token,
          apiUrl,
          owner: repository.owner,
          repo: repository.repo,
          ref: sha ?? config.commit ?? 'HEAD',
          environment: config.github.environment,
          environmentUrl: config.github.environmentUrl ?? serviceUrl,
          logUrl: runUrl,
          description: `Render ${config.action} ${deployId}`,
          logger: ctx.logger,
        });
      },
    },
  });
  if (deployment) {
    await deployment.status(
      result.ok ? 'success' : 'failure',
      result.rolledBack && config.action === 'deploy' ? `failed and rolled back: ${result.message}` : result.message,
    );
  }

  ctx.output('deploy-id', result.deployId ?? '');
  ctx.output('status', result.status);
  ctx.output('previous-deploy-id', result.previousDeployId ?? '');
  ctx.output('service-url', result.service.serviceDetails?.url ?? '');
  ctx.output('rolled-back', String(result.rolledBack && config.action === 'deploy'));
  ctx.output('duration-seconds', String(result.durationSeconds));
  ctx.output('deployment-id', deployment ? String(deployment.id) : '');
  ctx.output('commit', result.deploy?.commit?.id ?? '');
  ctx.output('image', result.deploy?.image?.ref ?? '');
  ctx.output('finished-at', result.deploy?.finishedAt ?? '');
  core.info(`Render API calls: ${client.stats.calls} (${client.stats.retries} retried)`);
  await core.summary.addRaw(formatDeploySummary(result, { deploymentUrl: deployment?.url, runUrl })).write();
  if (!result.ok) throw new ExternalError(result.message);
});
