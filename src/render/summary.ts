import { fitSummary, headline, links, table } from '../markdown/blocks.js';
import type { RenderResult } from './deploy.js';

export function formatDeploySummary(r: RenderResult, extra: { deploymentUrl?: string; runUrl?: string }): string {
  const parts = [headline(r.ok, `${r.service.name}: ${r.message} (${r.durationSeconds}s)`)];
  if (r.timeline.length) {
    parts.push(
      table(
        ['Status', 'At', 'After'],
        r.timeline.map((t) => [t.status, t.at, `${t.t}s`]),
      ),
    );
  }
  if (r.rollbackTimeline?.length) {
    parts.push(
      `Rollback ${r.rollbackDeployId}:\n\n${table(
        ['Status', 'At', 'After'],
        r.rollbackTimeline.map((t) => [t.status, t.at, `${t.t}s`]),
      )}`,
    );
  }
  const dashboard = r.service.dashboardUrl;
  parts.push(
    links([
      { label: 'Service in the Render dashboard', url: dashboard },
      {
        label: `Deploy ${r.deployId ?? ''}`,
        url: r.deployId && dashboard ? `${dashboard.replace(/\/$/, '')}/deploys/${r.deployId}` : undefined,
      },
      { label: 'GitHub Deployment', url: extra.deploymentUrl },
      { label: 'Workflow run', url: extra.runUrl },
    ]),
  );
  return fitSummary(parts.filter(Boolean).join('\n\n') + '\n');
}
