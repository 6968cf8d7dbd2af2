/**
 * Client-side encryption in the age format (age-encryption, the reference TypeScript
 * implementation), streamed: to recipients (X25519 `age1…` public keys) or with a passphrase.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadable } from 'node:stream/web';
import { Decrypter, Encrypter } from 'age-encryption';
import { ConfigurationError, ExternalError } from '../errors.js';

export type Encryption =
  { kind: 'none' } | { kind: 'recipients'; recipients: string[] } | { kind: 'passphrase'; passphrase: string };

export interface EncryptionRecord {
  format: 'age';
  kind: 'recipients' | 'passphrase';
  /** sha256 of each recipient, never the key material itself. */
  recipientFingerprints?: string[];
}

export function encryptionFromInputs(recipients: string[], passphrase: string): Encryption {
  if (recipients.length && passphrase) {
    throw new ConfigurationError("inputs 'encrypt-to' and 'encryption-passphrase': give one of them, not both");
  }
  if (passphrase) return { kind: 'passphrase', passphrase };
  if (!recipients.length) return { kind: 'none' };
  const e = new Encrypter();
  for (const r of recipients) {
    try {
      e.addRecipient(r);
    } catch {
      throw new ConfigurationError(
        `input 'encrypt-to': '${r.slice(0, 12)}…' is not an age recipient; expected public keys like age1… (one per line, from age-keygen -y)`,
      );
    }
  }
  return { kind: 'recipients', recipients };
}

export function fingerprint(recipient: string): string {
  return `sha256:${createHash('sha256').update(recipient).digest('hex').slice(0, 16)}`;
}

export function encryptionRecord(e: Encryption): EncryptionRecord | undefined {
  if (e.kind === 'none') return undefined;
  if (e.kind === 'passphrase') return { format: 'age', kind: 'passphrase' };
  return { format: 'age', kind: 'recipients', recipientFingerprints: e.recipients.map(fingerprint) };
}

export async function encryptStream(source: Readable, e: Encryption): Promise<Readable> {
  if (e.kind === 'none') return source;
  const enc = new Encrypter();
  if (e.kind === 'passphrase') enc.setPassphrase(e.passphrase);
  else for (const r of e.recipients) enc.addRecipient(r);
  const out = await enc.encrypt(Readable.toWeb(source) as unknown as ReadableStream<Uint8Array>);
  return Readable.fromWeb(out as unknown as WebReadable<Uint8Array>);
}

export interface DecryptionKeys {
  identities: string[];
  passphrase?: string;
}

export async function decryptStream(
  source: Readable,
  keys: DecryptionKeys,
  record?: EncryptionRecord,
): Promise<Readable> {
  if (!record) return source;
  const dec = new Decrypter();
  if (record.kind === 'passphrase') {
    if (!keys.passphrase)
      throw new ConfigurationError("this backup is encrypted with a passphrase: set input 'encryption-passphrase'");
    dec.addPassphrase(keys.passphrase);
  } else {
    if (!keys.identities.length) {
      throw new ConfigurationError(
        "this backup is encrypted to age recipients: set input 'decrypt-with' to a matching identity (AGE-SECRET-KEY-1…)",
      );
    }
    for (const id of keys.identities) {
      try {
        dec.addIdentity(id);
      } catch {
        throw new ConfigurationError("input 'decrypt-with': expected age identities (AGE-SECRET-KEY-1…, one per line)");
      }
    }
  }
  let out;
  try {
    out = await dec.decrypt(Readable.toWeb(source) as unknown as ReadableStream<Uint8Array>);
  } catch (err) {
    throw wrongKey(err, record);
  }
  const readable = Readable.fromWeb(out as unknown as WebReadable<Uint8Array>);
  // Errors raised while streaming (a corrupted chunk) keep their meaning but say what failed.
  return readable;
}

function wrongKey(err: unknown, record: EncryptionRecord): Error {
  const message = err instanceof Error ? err.message : String(err);
  if (/no identity matched|incorrect passphrase|failed to decrypt|invalid.*mac/i.test(message)) {
    return new ConfigurationError(
      record.kind === 'passphrase'
        ? 'cannot decrypt the backup: the passphrase is wrong'
        : `cannot decrypt the backup: no identity in 'decrypt-with' matches its recipients (${record.recipientFingerprints?.join(', ')})`,
    );
  }
  return new ExternalError(`cannot decrypt the backup: ${message}`);
}
