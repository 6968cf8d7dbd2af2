/** The root action: the whole deploy checklist as one step (see action.yml). */
import * as core from '@actions/core';
import os from 'node:os';
import { pgClientResolver } from './actions/common/pg-client.js';
import { runAction } from './actions/common/run.js';
import { parseChecklistConfig } from './src/checklist/config.js';
import { runChecklist } from './src/checklist/run.js';
import { checklistSteps } from './src/checklist/steps.js';
import { formatChecklistSummary } from './src/checklist/summary.js';
import { ExternalError } from './src/errors.js';
import { cancelOnSignals } from './src/util/signals.js';

await runAction('checklist', async (ctx) => {
  const config = parseChecklistConfig(ctx.inputs, ctx.workspace);
  for (const s of config.smoke?.secrets ?? []) ctx.secret(s);

  // A cancelled job gets SIGINT, then SIGTERM: the backup stops cleanly, a migration is put back.
  const cancel = cancelOnSignals(ctx.logger, 'the deploy checklist');
  const result = await runChecklist(
    checklistSteps(config, {
      logger: ctx.logger,
      tempDir: ctx.tempDir,
      cwd: ctx.workspace,
      appliedBy: ctx.run.actor ?? os.userInfo().username,
      pgClients: (spec) => pgClientResolver(spec, ctx.logger),
      run: ctx.run,
      secrets: ctx.secrets,
      signal: cancel.signal,
    }),
  );

  ctx.output('outcome', result.ok ? 'passed' : 'failed');
  ctx.output('failed-step', result.failedStep ?? '');
  ctx.output('backup-uri', result.backup?.uri ?? '');
  ctx.output('deploy-id', result.deploy?.deployId ?? '');
  ctx.output('incident-issue-url', result.incidentUrl ?? '');
  await core.summary.addRaw(formatChecklistSummary(result)).write();
  if (!result.ok) throw new ExternalError(`the deploy checklist failed at ${result.failedStep}: ${result.failure}`);
});
