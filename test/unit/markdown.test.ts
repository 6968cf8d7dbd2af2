import { describe, expect, it } from '@jest/globals';
import { escapeCell, fitSummary, headline, links, SUMMARY_LIMIT_BYTES, table } from '../../src/markdown/blocks.js';

const NOTE = '_…summary cut to fit GitHub’s 1 MiB limit; the full report is in the JSON report file._';

describe('escapeCell and table', () => {
  it('escapes pipes and turns newlines (LF and CRLF) into <br>', () => {
    expect(escapeCell('a|b')).toBe('a\\|b');
    expect(escapeCell('line1\nline2\r\nline3')).toBe('line1<br>line2<br>line3');
  });

  it('renders empty cells for undefined, null and empty string, and keeps 0 and false', () => {
    expect([undefined, null, '', 0, false].map(escapeCell)).toEqual(['', '', '', '0', 'false']);
  });

  it('builds a header, a separator and one line per row, escaping every cell', () => {
    const md = table(
      ['Check', 'Reason'],
      [
        ['api', 'status 503 | degraded'],
        ['db', 'first\nsecond'],
        ['empty', undefined],
      ],
    );
    expect(md.split('\n')).toEqual([
      '| Check | Reason |',
      '| --- | --- |',
      '| api | status 503 \\| degraded |',
      '| db | first<br>second |',
      '| empty |  |',
    ]);
  });

  it('keeps a table with no rows to its header and separator', () => {
    expect(table(['A', 'B', 'C'], [])).toBe('| A | B | C |\n| --- | --- | --- |');
  });
});

describe('headline and links', () => {
  it('uses a check mark for success and a cross for failure', () => {
    expect(headline(true, 'All good')).toBe('### ✅ All good');
    expect(headline(false, 'Broken')).toBe('### ❌ Broken');
  });

  it('lists only items that have a URL', () => {
    expect(
      links([
        { label: 'Run', url: 'https://example.com/run/1' },
        { label: 'Missing' },
        { label: 'Docs', url: 'https://example.com/docs' },
      ]),
    ).toBe('- [Run](https://example.com/run/1)\n- [Docs](https://example.com/docs)');
    expect(links([{ label: 'none' }])).toBe('');
  });
});

describe('fitSummary', () => {
  it('keeps a short summary byte for byte', () => {
    const md = '### ✅ ok\n\n| a |\n| --- |\n| b |\n';
    expect(fitSummary(md)).toBe(md);
  });

  it('keeps a summary exactly at the limit', () => {
    const md = 'x'.repeat(SUMMARY_LIMIT_BYTES);
    expect(fitSummary(md)).toBe(md);
  });

  it('cuts a 3 MiB summary to at most 1 MiB, keeping the start and ending with the note', () => {
    const md = Array.from({ length: 3 * 1024 * 16 }, (_, i) => `row ${String(i).padStart(59, '0')}\n`).join('');
    expect(Buffer.byteLength(md)).toBe(3 * 1024 * 1024);
    const out = fitSummary(md);
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(SUMMARY_LIMIT_BYTES);
    expect(Buffer.byteLength(out)).toBeGreaterThan(SUMMARY_LIMIT_BYTES - 16 * 1024);
    expect(out.startsWith(md.slice(0, 1000))).toBe(true);
    expect(out.trimEnd().endsWith(NOTE)).toBe(true);
  });

  it('cuts multi-byte text by bytes, not characters', () => {
    const md = '✅'.repeat(1024 * 1024); // 3 bytes each: 3 MiB
    const out = fitSummary(md);
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(SUMMARY_LIMIT_BYTES);
    expect(out).toContain(NOTE);
    expect(out.startsWith('✅✅✅')).toBe(true);
  });

  it('honours a smaller custom limit', () => {
    const out = fitSummary('y'.repeat(20_000), 10_000);
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(10_000);
    expect(out).toContain(NOTE);
  });
});
