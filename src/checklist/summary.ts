import { fitSummary, headline, table } from '../markdown/blocks.js';
import type { ChecklistResult } from './run.js';

const ICON = { passed: '✅', failed: '❌', skipped: '⏭️ skipped', 'not-run': '➖ not run' } as const;

/** The job summary of the root action: the checklist itself. */
export function formatChecklistSummary(r: ChecklistResult): string {
  const sentence = r.ok
    ? `Deploy checklist passed in ${r.durationSeconds}s`
    : `Deploy checklist failed at "${r.items.find((i) => i.id === r.failedStep)?.title ?? r.failedStep}"`;
  const rows = r.items.map((i) => [
    ICON[i.state],
    i.title,
    i.seconds === undefined ? '' : `${i.seconds}s`,
    i.detail ?? '',
    i.link ? `[${i.link.label}](${i.link.url})` : '',
  ]);
  return fitSummary(`${headline(r.ok, sentence)}\n\n${table(['', 'Item', 'Time', 'Detail', 'Link'], rows)}\n`);
}
