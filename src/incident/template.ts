/**
 * The issue body template: the built-in one follows the operations guide's post-incident review
 * (Summary, Impact, Root Cause, Timeline, Resolution, Action Items) and adds the run and the
 * reports. A `template` input replaces it with a markdown file using the same `{{placeholders}}`.
 *
 * Text placeholders left empty read "_To be filled in._" (a prompt for the review); block
 * placeholders (run, failed jobs, reports, previous incident) render nothing when there is nothing,
 * and a heading whose section ends up empty is dropped.
 */
import { ConfigurationError } from '../errors.js';

export const PLACEHOLDERS = {
  title: 'the issue title',
  key: 'the incident key',
  severity: 'P0 to P3',
  'response-target': "the severity's response target and when the first response is due",
  status: 'Open or Resolved',
  date: 'the day of the first failure (YYYY-MM-DD)',
  started: 'the time of the first failure (YYYY-MM-DD HH:MM UTC)',
  workflow: 'the workflow name',
  environment: 'the environment, or empty',
  repository: 'owner/name of the repository that ran the workflow',
  summary: 'input summary',
  impact: 'input impact',
  'root-cause': 'input root-cause',
  resolution: 'input resolution',
  timeline: 'the first failure, then the lines of input timeline, as a list',
  'action-items': 'input action-items as checkboxes',
  'run-url': 'the link to the workflow run',
  'run-context': 'a table: run, trigger, actor, commit',
  'failed-jobs': 'the failed jobs of the run with their failed steps and links',
  reports: 'one table per JSON report',
  'previous-incident': 'a link to the earlier incident with the same key, when there is one',
} as const;

export type Placeholder = keyof typeof PLACEHOLDERS;
export type TemplateValues = Record<Placeholder, string>;

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9_-]*)\s*\}\}/g;

export const BUILT_IN_TEMPLATE = `## Summary

{{summary}}

| | |
| --- | --- |
| **Date** | {{date}} |
| **First failure** | {{started}} |
| **Severity** | {{severity}} |
| **Response target** | {{response-target}} |
| **Environment** | {{environment}} |
| **Workflow** | {{workflow}} |

{{previous-incident}}

## Impact

{{impact}}

## Root Cause

{{root-cause}}

## Timeline

{{timeline}}

## Resolution

{{resolution}}

## Action Items

{{action-items}}

## Run

{{run-context}}

{{failed-jobs}}

## Reports

{{reports}}
`;

/** Throws a ConfigurationError for an empty template or an unknown placeholder (a typo would stay in the issue). */
export function validateTemplate(input: string, source: string, text: string): void {
  if (!text.trim()) throw new ConfigurationError(`input '${input}': the template ${source} is empty`);
  const unknown = [...text.matchAll(PLACEHOLDER)]
    .map((m) => m[1]!.toLowerCase())
    .filter((name) => !(name in PLACEHOLDERS));
  if (unknown.length > 0) {
    throw new ConfigurationError(
      `input '${input}': the template ${source} uses unknown placeholder${unknown.length > 1 ? 's' : ''} ` +
        `${[...new Set(unknown)].map((n) => `{{${n}}}`).join(', ')}; known: ${Object.keys(PLACEHOLDERS)
          .map((n) => `{{${n}}}`)
          .join(', ')}`,
    );
  }
}

/** Replaces every placeholder (values are already markdown), then drops headings of empty sections. */
export function fillTemplate(template: string, values: TemplateValues): string {
  const filled = template.replace(PLACEHOLDER, (whole, name: string) => {
    const key = name.toLowerCase() as Placeholder;
    return key in values ? values[key] : whole;
  });
  return dropEmptySections(filled)
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** A `#`-heading followed only by blank lines up to the next heading of the same or a higher level (or the end). */
function dropEmptySections(markdown: string): string {
  const lines = markdown.split('\n');
  const keep = lines.map(() => true);
  for (let i = 0; i < lines.length; i++) {
    const level = headingLevel(lines[i]!);
    if (!level) continue;
    let j = i + 1;
    while (j < lines.length && lines[j]!.trim() === '') j++;
    const next = j < lines.length ? headingLevel(lines[j]!) : 0;
    if (j >= lines.length || (next > 0 && next <= level)) keep[i] = false;
  }
  return lines.filter((_, i) => keep[i]).join('\n');
}

function headingLevel(line: string): number {
  const m = /^(#{1,6})\s+\S/.exec(line);
  return m ? m[1]!.length : 0;
}
