/** Small Markdown builders shared by every job summary. */

export function escapeCell(value: unknown): string {
  if (value === undefined || value === null || value === '') return '';
  return String(value).replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

export function table(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const line = (cells: readonly unknown[]) => `| ${cells.map(escapeCell).join(' | ')} |`;
  return [line(headers), `| ${headers.map(() => '---').join(' | ')} |`, ...rows.map(line)].join('\n');
}

export function headline(ok: boolean, sentence: string): string {
  return `### ${ok ? '✅' : '❌'} ${sentence}`;
}

export function links(items: readonly { label: string; url?: string }[]): string {
  const present = items.filter((i) => i.url);
  return present.length ? present.map((i) => `- [${i.label}](${i.url})`).join('\n') : '';
}

/** GitHub refuses a step summary over 1 MiB; cut with a note rather than lose the whole summary. */
export const SUMMARY_LIMIT_BYTES = 1024 * 1024;

export function fitSummary(markdown: string, limit = SUMMARY_LIMIT_BYTES): string {
  if (Buffer.byteLength(markdown) <= limit) return markdown;
  const note = '\n\n_…summary cut to fit GitHub’s 1 MiB limit; the full report is in the JSON report file._\n';
  let cut = markdown.slice(0, limit - Buffer.byteLength(note) - 4096);
  while (Buffer.byteLength(cut) > limit - Buffer.byteLength(note)) cut = cut.slice(0, -1024);
  return cut + note;
}
