/**
 * Hidden markers that tie GitHub issues and comments to an incident key. They are HTML comments
 * (invisible in the rendered issue) at the start of a line; their values are URI-encoded, so a key
 * can hold any character without ending the comment early. User text is neutralised before it is
 * posted (see text.ts), so only opskit writes these.
 *
 *   issue body:  <!-- opskit:incident key=deploy%20%2F%20production since=2024-05-01T12:03:00.000Z -->
 *   comment:     <!-- opskit:incident-event key=… event=reopened at=2024-05-02T08:00:00.000Z id=… -->
 */

export interface IssueMarker {
  key: string;
  /** When the incident's first failure happened. */
  since?: Date;
}

export type IncidentEventKind = 'failed' | 'escalated' | 'reopened' | 'resolved' | 'duplicate' | 'overdue';

export interface EventMarker {
  key: string;
  event: IncidentEventKind;
  at: Date;
  /** Unique per comment: finds a comment whose POST had an unknown outcome. */
  id: string;
}

export function issueMarker(m: IssueMarker): string {
  return `<!-- opskit:incident ${fields({ key: m.key, since: m.since?.toISOString() })} -->`;
}

export function eventMarker(m: EventMarker): string {
  return `<!-- opskit:incident-event ${fields({ key: m.key, event: m.event, at: m.at.toISOString(), id: m.id })} -->`;
}

const ISSUE_MARKER = /^<!-- opskit:incident ([^\n]*?) -->$/m;
const EVENT_MARKER = /^<!-- opskit:incident-event ([^\n]*?) -->$/m;

/** The first incident marker of an issue body, if any. */
export function readIssueMarker(body: string): IssueMarker | undefined {
  const m = ISSUE_MARKER.exec(body);
  if (!m) return undefined;
  const f = parseFields(m[1]!);
  if (f.key === undefined) return undefined;
  return { key: f.key, since: toDate(f.since) };
}

export function readEventMarker(body: string): EventMarker | undefined {
  const m = EVENT_MARKER.exec(body);
  if (!m) return undefined;
  const f = parseFields(m[1]!);
  const at = toDate(f.at);
  if (f.key === undefined || !f.event || !at) return undefined;
  return { key: f.key, event: f.event as IncidentEventKind, at, id: f.id ?? '' };
}

function fields(values: Record<string, string | undefined>): string {
  return Object.entries(values)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(v!)}`)
    .join(' ');
}

function parseFields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(' ')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    try {
      out[part.slice(0, eq)] = decodeURIComponent(part.slice(eq + 1));
    } catch {
      // not ours
    }
  }
  return out;
}

function toDate(v: string | undefined): Date | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
