import { describe, expect, it } from '@jest/globals';
import { describeContent, setClause, sideDatabase, splitGucList } from '../../src/postgres/clean.js';
import { Interrupted, interruption, onAbort, throwIfInterrupted } from '../../src/util/signals.js';

describe('sideDatabase', () => {
  it('puts the suffix after the name when it fits in 63 bytes', () => {
    expect(sideDatabase('shop', 'restore')).toBe('shop__opskit_restore');
    expect(sideDatabase('shop', 'previous')).toBe('shop__opskit_previous');
  });

  it('cuts a long name and tags it with its hash, the same every time, never over 63 bytes', () => {
    const long = `orders_${'é'.repeat(28)}`;
    const a = sideDatabase(long, 'previous');
    expect(Buffer.byteLength(a)).toBeLessThanOrEqual(63);
    expect(a).toMatch(/^orders_é+_[0-9a-f]{8}__opskit_previous$/);
    expect(sideDatabase(long, 'previous')).toBe(a);
    expect(sideDatabase(`${long}x`, 'previous')).not.toBe(a);
  });
});

describe('setClause', () => {
  it('quotes a plain value as one literal', () => {
    expect(setClause('statement_timeout=30s')).toBe(`SET "statement_timeout" TO '30s'`);
    expect(setClause("app.tenant=acme's")).toBe(`SET "app.tenant" TO 'acme''s'`);
  });

  it('splits list settings into their items, as pg_dump does', () => {
    expect(setClause('search_path="$user", public, "Odd, Schema"')).toBe(
      `SET "search_path" TO '$user', 'public', 'Odd, Schema'`,
    );
    expect(splitGucList('a,"b""c" ,  d')).toEqual(['a', 'b"c', 'd']);
    expect(splitGucList('')).toEqual(['']);
  });
});

describe('describeContent', () => {
  it('names what a database holds, and nothing for an empty one', () => {
    const none = {
      tables: 0,
      views: 0,
      materializedViews: 0,
      sequences: 0,
      foreignTables: 0,
      functions: 0,
      types: 0,
      schemas: 0,
      extensions: 0,
      largeObjects: 0,
    };
    expect(describeContent(none)).toBe('');
    expect(describeContent({ ...none, materializedViews: 1, largeObjects: 3 })).toBe(
      '1 materialized view, 3 large objects',
    );
  });
});

describe('signals', () => {
  it('says what state an interruption left things in', () => {
    const stop = new Interrupted('SIGTERM');
    expect(stop.message).toBe('interrupted by SIGTERM');
    expect(stop.withState('nothing was changed').message).toBe('interrupted by SIGTERM: nothing was changed');
  });

  it('runs the stop at once for an aborted signal, and only once', () => {
    const controller = new AbortController();
    let stops = 0;
    const unlisten = onAbort(controller.signal, () => stops++);
    expect(interruption(controller.signal)).toBeUndefined();
    controller.abort(new Interrupted('SIGINT'));
    controller.abort();
    expect(stops).toBe(1);
    unlisten();
    onAbort(controller.signal, () => stops++);
    expect(stops).toBe(2);
    expect(() => throwIfInterrupted(controller.signal)).toThrow('interrupted by SIGINT');
  });
});
