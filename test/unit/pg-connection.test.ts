/**
 * parsePgUrl keeps every credential off the libpq tools' command line: a `?password=` query parameter is
 * taken out of the URL they get and passed as PGPASSWORD, like the `user:password@` form.
 */
import { describe, expect, it } from '@jest/globals';
import { ConfigurationError } from '../../src/errors.js';
import { parsePgUrl } from '../../src/postgres/connection.js';

describe('parsePgUrl and credentials', () => {
  it('takes a ?password= query parameter out of the tools URL and into PGPASSWORD', () => {
    const conn = parsePgUrl('database-url', 'postgres://app@db.example:5433/shop?sslmode=require&password=s3cr%2Bet');
    expect(conn.libpqUrl).toBe('postgres://app@db.example:5433/shop?sslmode=require');
    expect(conn.libpqUrl).not.toContain('s3cr');
    expect(conn.password).toBe('s3cr+et');
    expect(conn.env.PGPASSWORD).toBe('s3cr+et');
    expect(conn.display).not.toContain('s3cr');
    // Another database of the same server keeps the password off the URL too.
    const other = conn.withDatabase('postgres');
    expect(other.libpqUrl).toBe('postgres://app@db.example:5433/postgres?sslmode=require');
    expect(other.env.PGPASSWORD).toBe('s3cr+et');
  });

  it('lets the query password win over the userinfo one, as libpq does, and drops both from the URL', () => {
    const conn = parsePgUrl('database-url', 'postgresql://app:old@h/db?password=new');
    expect(conn.password).toBe('new');
    expect(conn.libpqUrl).toBe('postgresql://app@h/db');
  });

  it('leaves the other parameters exactly as written (libpq reads + as +, not a space)', () => {
    const conn = parsePgUrl(
      'database-url',
      'postgres://app:pw@h/db?options=-c%20statement_timeout%3D5s&application_name=a+b',
    );
    expect(conn.libpqUrl).toBe('postgres://app@h/db?options=-c%20statement_timeout%3D5s&application_name=a+b');
    expect(conn.password).toBe('pw');
  });

  it('refuses sslpassword, which libpq reads from no environment variable, naming the input', () => {
    const run = () => parsePgUrl('database-url', 'postgres://app@h/db?sslpassword=keypass');
    expect(run).toThrow(ConfigurationError);
    expect(run).toThrow(/^input 'database-url': sslpassword cannot be given/);
    try {
      run();
    } catch (err) {
      expect((err as Error).message).not.toContain('keypass');
    }
  });
});
