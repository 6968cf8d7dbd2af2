/** The blue-green-switch job summary: headline, where traffic is, the steps table, links. */
import { errorMessage } from '../errors.js';
import { describeShares } from './shares.js';
import { fitSummary, headline, links, table } from '../markdown/blocks.js';
import { redactUrl, scrub } from '../redact.js';
import { formatDuration } from '../util/time.js';
import { describeState } from './plan.js';
import { COLOURS, type CommandReport, type RetireResult, type SwitchResult, type TrafficState } from './types.js';

export function formatSwitchSummary(result: SwitchResult, runUrl?: string, secrets: readonly string[] = []): string {
  const verb = result.action === 'rollback' ? 'Rollback' : 'Switch';
  let sentence: string;
  if (result.ok && result.unchanged) sentence = `${result.to} already had all traffic: nothing changed`;
  else if (result.ok) {
    const prev = result.now?.previous ? `; ${result.now.previous} is previous` : '';
    sentence =
      result.action === 'rollback'
        ? `Rolled back to ${result.to} (100%)${prev}`
        : `Traffic moved to ${result.to} (100%) in ${plural(result.steps.length, 'step')} (${formatDuration(result.durationMs)})${prev}`;
  } else {
    sentence = `${verb}${result.to ? ` to ${result.to}` : ''} failed; traffic is on ${result.now ? describeShares(result.now.shares) : 'what it was before'}${result.reverted ? ' (reverted)' : ''}`;
  }
  const parts = [headline(result.ok, sentence)];
  if (result.error !== undefined) parts.push(`> ${scrub(errorMessage(result.error), secrets).replace(/\n/g, '\n> ')}`);
  parts.push(
    [
      `**Where:** ${result.where}`,
      `**Before:** ${describeState(result.before)}`,
      `**Now:** ${describeState(result.now)}`,
    ].join(' · '),
  );

  const rows: unknown[][] = [];
  const release = result.release;
  if (release?.deploy) rows.push(commandRow(release.deploy, release.version));
  if (release?.smoke) {
    const passed = release.smoke.checks.filter((c) => c.passed).length;
    const failed = release.smoke.checks.filter((c) => !c.passed);
    rows.push([
      'smoke checks',
      `${release.smoke.colour} servers (no traffic)`,
      '',
      `${passed}/${release.smoke.checks.length} passed`,
      formatDuration(release.smoke.durationMs),
      release.smoke.ok ? '✅' : `❌ ${failed.map((c) => `${c.name}: ${c.reason ?? 'failed'}`).join('; ')}`,
    ]);
  }
  if (result.gate) {
    const healthy = result.gate.servers.filter((s) => s.ok).length;
    rows.push([
      'health gate',
      `${result.gate.colour} servers`,
      '',
      `${healthy}/${result.gate.servers.length} healthy`,
      formatDuration(result.gate.durationMs),
      result.gate.ok
        ? '✅'
        : `❌ ${result.gate.servers
            .filter((s) => !s.ok)
            .map((s) => `${s.server}: ${s.detail}`)
            .join('; ')}`,
    ]);
  }
  for (const s of result.steps) {
    const answered =
      result.action === 'switch' && s.requests > 0
        ? ` · ${Math.round((100 * s.matched) / s.requests)}% as ${s.colour}`
        : '';
    rows.push([
      `${s.index}/${s.of}`,
      COLOURS.map((c) => `${c} ${s.shares[c]}%`).join(' · '),
      s.requests > 0
        ? `${s.requests - s.failed} ok, ${s.failed} failed${answered}`
        : result.verifyUrl
          ? ''
          : 'no verify-url',
      s.probes > 0 ? `${s.probes - s.probeFailures}/${s.probes} passed` : '',
      formatDuration(s.durationMs),
      s.ok ? '✅' : `❌ ${s.reason ?? ''}`,
    ]);
  }
  if (rows.length) {
    parts.push(table(['Step', 'Traffic', 'Verify requests', 'Health probes', 'Time', 'Result'], rows));
  }
  const failures = result.steps.flatMap((s) => s.failures.map((f) => `- step ${s.index}: ${f}`));
  if (failures.length) parts.push(`Failures:\n\n${failures.join('\n')}`);
  const l = links([
    { label: 'Workflow run', url: runUrl },
    { label: 'verify-url', url: result.verifyUrl ? redactUrl(result.verifyUrl) : undefined },
  ]);
  if (l) parts.push(l);
  return fitSummary(scrub(parts.join('\n\n'), secrets) + '\n');
}

export function formatStatusSummary(state: TrafficState | undefined, where: string): string {
  if (!state) {
    return `${headline(true, `No blue-green state recorded yet in ${where}`)}\n`;
  }
  const switching = state.target ? ` (switch to ${state.target} under way)` : '';
  const parts = [
    headline(
      true,
      `${state.live} is live${switching}; ${state.previous ? `${state.previous} is previous` : 'no previous colour'} — ${describeShares(state.shares)}`,
    ),
    `**Where:** ${where}${state.source === 'inferred' ? ' (a hand-written file: read from its servers)' : ''}`,
    table(
      ['Colour', 'Traffic', 'Servers'],
      COLOURS.map((c) => [c, `${state.shares[c]}%`, state.servers[c].join(', ')]),
    ),
  ];
  if (state.time) parts.push(`Updated ${state.time}${state.run ? ` by [this run](${state.run})` : ''}`);
  return fitSummary(parts.join('\n\n') + '\n');
}

export function formatRetireSummary(result: RetireResult, runUrl?: string, secrets: readonly string[] = []): string {
  let sentence: string;
  if (result.ok && result.already)
    sentence = `${result.colour} was retired already after the switch of ${result.idleSince}`;
  else if (result.ok && result.held)
    sentence = `${result.colour} is still within its hold of ${formatDuration(result.holdMs)}: nothing stopped yet`;
  else if (result.ok)
    sentence = `Retired ${result.colour}: idle since ${result.idleSince}, held ${formatDuration(result.holdMs)}`;
  else
    sentence = `${result.colour ? `${result.colour} was not retired` : 'Nothing was retired'}; traffic was not touched`;
  const parts = [headline(result.ok, sentence)];
  if (result.error !== undefined) parts.push(`> ${scrub(errorMessage(result.error), secrets).replace(/\n/g, '\n> ')}`);
  parts.push([`**Where:** ${result.where}`, `**Traffic:** ${describeState(result.state)}`].join(' · '));
  if (result.command) {
    parts.push(
      table(['Step', 'Colour', 'Command', 'Time', 'Result'], [commandRow(result.command).filter((_, i) => i !== 3)]),
    );
    if (result.command.output) parts.push(`Output (last lines):\n\n\`\`\`text\n${result.command.output}\n\`\`\``);
  }
  const l = links([{ label: 'Workflow run', url: runUrl }]);
  if (l) parts.push(l);
  return fitSummary(scrub(parts.join('\n\n'), secrets) + '\n');
}

/** A deploy-command or retire-command row: step, colour, command, (health probes: empty), time, result. */
function commandRow(c: CommandReport, version?: string): unknown[] {
  return [
    c.input,
    `${c.colour} on ${c.where}`,
    `\`${c.command}\`${version ? ` (OPSKIT_VERSION=${version})` : ''}`,
    '',
    formatDuration(c.durationMs),
    c.ok ? '✅' : `❌ ${c.detail ?? ''}`,
  ];
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
