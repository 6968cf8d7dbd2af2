import * as core from '@actions/core';
import os from 'node:os';
import { NginxProvider } from '../../src/nginx/provider.js';
import { LocalHost, type Host } from '../../src/ssh/host.js';
import { openSsh } from '../../src/ssh/ssh.js';
import { parseBlueGreenConfig, sshKeySecrets, switchOptions } from '../../src/switch/config.js';
import { HostProbe, HttpProbe } from '../../src/switch/health.js';
import { readDeployRecord, redeployedRefusal, releasePreparer, runRetire } from '../../src/switch/release.js';
import { runSwitch } from '../../src/switch/run.js';
import { formatShares } from '../../src/switch/shares.js';
import { formatRetireSummary, formatStatusSummary, formatSwitchSummary } from '../../src/switch/summary.js';
import type { TrafficState } from '../../src/switch/types.js';
import { cancelOnSignals } from '../../src/util/signals.js';
import { type ActionContext, runAction } from '../common/run.js';

await runAction('blue-green-switch', async (ctx) => {
  for (const s of sshKeySecrets(ctx.inputs.raw('ssh-key'))) ctx.secret(s);
  const config = parseBlueGreenConfig(ctx.inputs);
  for (const s of config.release?.smoke?.secrets ?? []) ctx.secret(s);
  const { runUrl } = ctx.run;
  const holder = `${runUrl ?? 'a run'} (pid ${process.pid} on ${os.hostname()}, since ${new Date().toISOString()})`;

  const host: Host = config.ssh
    ? await openSsh({ ...config.ssh, sudo: config.sudo, tempDir: ctx.tempDir })
    : new LocalHost(config.sudo);
  try {
    const provider = new NginxProvider(host, { ...config.nginx, servers: config.servers }, ctx.logger);

    if (config.action === 'status') {
      const state = await provider.readState();
      setOutputs(ctx, state);
      if (state)
        ctx.logger.info(
          `${provider.where}: live ${state.live}, previous ${state.previous ?? 'none'}, ${formatShares(state.shares)}`,
        );
      else ctx.logger.warning(`${provider.where}: no blue-green state recorded yet`);
      await core.summary.addRaw(formatStatusSummary(state, provider.where)).write();
      return;
    }

    if (config.action === 'retire') {
      // A cancelled job stops retire-command; nothing is recorded as retired.
      const cancelRetire = cancelOnSignals(ctx.logger, 'the retirement');
      const result = await runRetire(
        { ...config.retire!, servers: config.servers, holder, runUrl },
        {
          provider,
          host,
          recordFile: `${config.nginx.file}.retired`,
          logger: ctx.logger,
          signal: cancelRetire.signal,
        },
      ).finally(() => cancelRetire.dispose());
      setOutputs(ctx, result.state);
      ctx.output('retired', result.ok && result.command?.ok ? (result.colour ?? '') : '');
      await core.summary.addRaw(formatRetireSummary(result, runUrl, ctx.secrets)).write();
      if (result.error !== undefined) throw result.error;
      return;
    }

    // A cancelled job gets SIGINT, then SIGTERM: stop baking and put the state before the run back.
    const cancel = cancelOnSignals(ctx.logger, 'the switch');

    const result = await runSwitch(
      {
        action: config.action,
        ...switchOptions(config, holder),
      },
      {
        provider,
        probe: host.remote ? new HostProbe(host) : new HttpProbe(),
        logger: ctx.logger,
        signal: cancel.signal,
        runUrl,
        prepare: config.release
          ? releasePreparer({
              host,
              ...config.release,
              logger: ctx.logger,
              deployRecordFile: `${config.nginx.file}.deployed`,
              runUrl,
            })
          : undefined,
        rollbackRefusal: async (to, before) =>
          redeployedRefusal(await readDeployRecord(host, `${config.nginx.file}.deployed`), to, before),
      },
    );
    setOutputs(ctx, result.now);
    ctx.output('deployed', result.release?.deploy?.ok ? (result.release.version ?? '') : '');
    await core.summary.addRaw(formatSwitchSummary(result, runUrl, ctx.secrets)).write();
    if (result.error !== undefined) throw result.error;
  } finally {
    await host.close();
  }
});

function setOutputs(ctx: ActionContext, state: TrafficState | undefined): void {
  ctx.output('live', state?.live ?? '');
  ctx.output('previous', state?.previous ?? '');
  ctx.output('weights', state ? formatShares(state.shares) : '');
  ctx.output('switched-at', state?.source === 'header' ? (state.time ?? '') : '');
}
