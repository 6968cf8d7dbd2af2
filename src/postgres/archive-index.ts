/**
 * One pass over a custom-format archive that pg_dump streamed to a pipe: writes the data offsets
 * into its TOC, and counts the rows of each table's data.
 *
 * Offsets. pg_dump can only record where each table's data starts when it writes to a file it can
 * seek back in; streamed through compression, every TOC entry says "offset not set". A parallel
 * pg_restore then makes each worker read the archive from the start up to the block it wants,
 * chunk by chunk (one chunk per row), which costs it a quarter of its time on a 1 GB database
 * (docs/benchmarks.md). After the archive is read back into its temp file, this walks the data
 * blocks once, in large reads, and writes each entry's offset into the TOC in place: the TOC
 * keeps its size (a flag byte and 8 offset bytes per entry), exactly as pg_dump rewrites it when
 * it can seek.
 *
 * Rows. Uncompressed (-Z0, what db-backup runs), pg_dump writes each row libpq hands it
 * (PQgetCopyData: always one row at a time) as one chunk of the table's COPY data block, then its
 * end-of-data marker, so the chunks of a TABLE DATA entry with a COPY statement, less the marker,
 * are its rows. pg_restore loads each such block with one COPY, whole or not at all: a restore
 * that succeeded holds exactly these rows, with no scan of the restored tables. Entries without a
 * COPY statement (--inserts) and archives compressed inside get no count.
 *
 * Layout (pg_backup_archiver.c WriteHead/WriteToc, pg_backup_custom.c), archive versions 1.12 to
 * 1.15 (pg_dump 9.5 to 16); any other version, or anything that does not parse, is left as it
 * is (pg_restore reads it the slow way, exactly as before, and the rows are counted in the
 * database). pg_restore itself checks the block id it finds at each offset, so a wrong offset
 * could never restore the wrong data.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';

const BLK_DATA = 1;
const BLK_BLOBS = 3;
const POS_NOT_SET = 1;
const POS_SET = 2;
const READ_SIZE = 8 << 20;

export type OffsetsResult = { patched: number } | { skipped: string };

export interface ArchiveIndex {
  offsets: OffsetsResult;
  /** `schema.table` → rows of its COPY data; absent when the archive cannot be read that way. */
  rows?: Map<string, number>;
}

class Malformed extends Error {}

/** Sequential reader over a file with an 8 MiB window (synchronous: it runs alone, between steps). */
class Reader {
  private buf = Buffer.allocUnsafe(READ_SIZE);
  private start = 0;
  private length = 0;
  pos = 0;
  intSize = 4;

  constructor(private readonly fd: number) {}

  /** True when `n` more bytes are available at `pos` (refilling the window there if needed). */
  private has(n: number): boolean {
    if (this.pos >= this.start && this.pos + n <= this.start + this.length) return true;
    this.start = this.pos;
    this.length = readSync(this.fd, this.buf, 0, READ_SIZE, this.pos);
    return n <= this.length;
  }
  atEnd(): boolean {
    return !this.has(1);
  }
  byte(): number {
    if (!this.has(1)) throw new Malformed('unexpected end of archive');
    return this.buf[this.pos++ - this.start]!;
  }
  int(): number {
    const size = 1 + this.intSize;
    if (!this.has(size)) throw new Malformed('unexpected end of archive');
    const at = this.pos - this.start;
    let value = 0;
    for (let b = this.intSize; b >= 1; b--) value = value * 256 + this.buf[at + b]!;
    this.pos += size;
    return this.buf[at] ? -value : value;
  }
  bytes(n: number): Buffer {
    if (n > READ_SIZE) throw new Malformed('a TOC string is too long');
    if (!this.has(n)) throw new Malformed('unexpected end of archive');
    const out = this.buf.subarray(this.pos - this.start, this.pos - this.start + n);
    this.pos += n;
    return out;
  }
  /** A string, or null for a NULL one (length -1). */
  str(): string | null {
    const n = this.int();
    return n < 0 ? null : this.bytes(n).toString('utf8');
  }
  skip(n: number): void {
    this.pos += n;
  }
}

interface Entry {
  /** Where the entry's flag byte is in the file. */
  flagAt: number;
  flag: number;
  /** `schema.table` of a TABLE DATA entry loaded by COPY. */
  table?: string;
}

/** Indexes the archive at `file`, patching its offsets in place; never throws for an archive it does not understand. */
export function indexArchive(file: string): ArchiveIndex {
  const fd = openSync(file, 'r+');
  try {
    const r = new Reader(fd);
    if (r.bytes(5).toString('latin1') !== 'PGDMP') return skipped('not a custom-format archive');
    const [major, minor] = [r.byte(), r.byte(), r.byte()];
    if (major !== 1 || minor! < 12 || minor! > 15) return skipped(`archive version 1.${minor} is not one we patch`);
    r.intSize = r.byte();
    const offSize = r.byte();
    const format = r.byte();
    if (r.intSize < 1 || r.intSize > 6 || offSize !== 8 || format !== 1) return skipped('unexpected archive header');
    // 1.15 names the algorithm (0: none); before, a zlib level (0: none).
    const compressed = (minor! >= 15 ? r.byte() : r.int()) !== 0;
    for (let i = 0; i < 7; i++) r.int(); // creation time
    r.str(); // database
    r.str(); // server version
    r.str(); // pg_dump version

    const entries = new Map<number, Entry>();
    const count = r.int();
    for (let i = 0; i < count; i++) {
      const dumpId = r.int();
      r.int(); // has data dumper
      for (let s = 0; s < 2; s++) r.str(); // table oid, oid
      const tag = r.str();
      const desc = r.str();
      r.int(); // section
      r.str(); // defn
      r.str(); // dropStmt
      const copyStmt = r.str();
      const namespace = r.str();
      r.str(); // tablespace
      if (minor! >= 14) r.str(); // table access method
      r.str(); // owner
      r.str(); // "false" (with oids)
      while (r.str() !== null); // dependencies
      const flagAt = r.pos;
      const flag = r.byte();
      r.skip(offSize);
      const table = desc === 'TABLE DATA' && copyStmt ? `${namespace}.${tag}` : undefined;
      entries.set(dumpId, { flagAt, flag, table });
    }

    const found: { entry: Entry; offset: number }[] = [];
    const rows = new Map<string, number>();
    while (!r.atEnd()) {
      const offset = r.pos;
      const type = r.byte();
      const dumpId = r.int();
      const entry = entries.get(dumpId);
      if (type === BLK_DATA) {
        const chunks = skipChunks(r);
        if (entry?.table) rows.set(entry.table, chunks);
      } else if (type === BLK_BLOBS) while (r.int() !== 0) skipChunks(r);
      else throw new Malformed(`unknown block type ${type}`);
      if (entry?.flag === POS_NOT_SET) found.push({ entry, offset });
    }
    const patch = Buffer.alloc(1 + offSize);
    for (const { entry, offset } of found) {
      patch[0] = POS_SET;
      patch.writeBigUInt64LE(BigInt(offset), 1);
      writeSync(fd, patch, 0, patch.length, entry.flagAt);
    }
    const set = !found.length && [...entries.values()].some((e) => e.flag === POS_SET);
    return {
      offsets: set ? { skipped: 'the offsets are already set' } : { patched: found.length },
      rows: compressed ? undefined : rows,
    };
  } catch (err) {
    if (err instanceof Malformed) return skipped(err.message);
    throw err;
  } finally {
    closeSync(fd);
  }
}

function skipped(reason: string): ArchiveIndex {
  return { offsets: { skipped: reason } };
}

/**
 * Skips a block's chunks; returns how many there were, less pg_dump's end-of-data marker (a chunk
 * of `\.` and newlines after a table's COPY rows): a COPY text row never starts with `\.`, since
 * every backslash in a value is written as `\\`.
 */
function skipChunks(r: Reader): number {
  let chunks = 0;
  for (let n = r.int(); n !== 0; n = r.int()) {
    if (n < 0) throw new Malformed('negative chunk length');
    if (n > 8) r.skip(n);
    else {
      const chunk = r.bytes(n);
      if (chunk[0] === 0x5c && chunk[1] === 0x2e) continue;
    }
    chunks++;
  }
  return chunks;
}
