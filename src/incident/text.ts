/**
 * Free text on its way into a GitHub issue: it must not ping anyone, must not forge the hidden
 * incident marker, and must fit GitHub's 65,536-character limit for bodies and comments.
 */

/** GitHub refuses a body or comment longer than this ("body is too long (maximum is 65536 characters)"). */
export const GITHUB_BODY_LIMIT = 65_536;
/** What we aim for, leaving room for GitHub counting differently from JavaScript. */
export const BODY_BUDGET = GITHUB_BODY_LIMIT - 536;

const ZWJ = '\u200d';

/**
 * `@user` and `@org/team` become `@‍user` (a zero-width joiner after the @: it reads the same and
 * pings nobody); `<!--` and `-->` are escaped so user text can never open or close an HTML comment,
 * which is where the incident marker lives. E-mail addresses (`a@b.com`) are not mentions and stay.
 */
export function neutralise(text: string): string {
  return text
    .replace(/(^|[^A-Za-z0-9_])@(?=[A-Za-z0-9])/g, `$1@${ZWJ}`)
    .replace(/<!--/g, '&lt;!--')
    .replace(/--!?>/g, (m) => m.replace('>', '&gt;'));
}

/** One line of neutralised text (for table cells, list items, titles). */
export function neutraliseLine(text: string): string {
  return neutralise(text.replace(/\s*\r?\n\s*/g, ' ').trim());
}

/** `text` cut to `max` characters with a note saying how much was left out. */
export function cap(text: string, max: number): string {
  if (text.length <= max) return text;
  const kept = cutAt(text, max);
  return `${kept}\n\n_…cut to ${max.toLocaleString('en-US')} of ${text.length.toLocaleString('en-US')} characters._`;
}

/** One line cut to `max` characters with an ellipsis. */
export function capLine(text: string, max: number): string {
  return text.length <= max ? text : `${cutAt(text, max - 1)}…`;
}

/** Never split a surrogate pair. */
function cutAt(text: string, n: number): string {
  let end = Math.max(0, n);
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return text.slice(0, end);
}

/**
 * The whole body cut to the budget at a line boundary, an open code fence closed, and a note
 * (pointing at `moreAt`, e.g. the run) appended. Text under the budget is returned as it is.
 */
export function fitBody(body: string, moreAt?: string, budget = BODY_BUDGET): string {
  if (body.length <= budget) return body;
  const omittedNote = (n: number) =>
    `\n\n> [!NOTE]\n> Cut to fit GitHub's ${GITHUB_BODY_LIMIT.toLocaleString('en-US')}-character limit ` +
    `(${n.toLocaleString('en-US')} characters left out)${moreAt ? `; the full details are in ${moreAt}` : ''}.\n`;
  const room = budget - omittedNote(body.length).length - 8;
  let kept = cutAt(body, room);
  const lastBreak = kept.lastIndexOf('\n');
  if (lastBreak > room * 0.8) kept = kept.slice(0, lastBreak);
  const fences = kept.split('\n').filter((l) => /^\s*(```|~~~)/.test(l)).length;
  if (fences % 2 === 1) kept += '\n```';
  return kept + omittedNote(body.length - kept.length);
}

/** `2024-05-01 12:03 UTC` */
export function formatUtc(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
