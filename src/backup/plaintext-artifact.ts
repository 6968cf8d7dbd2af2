/**
 * No plaintext database dumps as workflow artifacts. Anyone with read access to the repository can download a
 * run's artifacts (every collaborator, and everyone for a public repository), for as long as they are kept. So a
 * backup goes to an artifact only encrypted, or when the workflow says explicitly that plaintext is fine
 * (`allow-plaintext-artifact: true`).
 */
import { ConfigurationError } from '../errors.js';
import { type DestinationSpec, type OptionalDestination, describeDestination } from '../storage/destination.js';

export interface PlaintextArtifactCheck {
  /** The destination input (`destination`, `backup-destination`) and what it says. */
  input: string;
  destination: OptionalDestination | DestinationSpec;
  /** Whether the backup is encrypted before it is stored. */
  encrypted: boolean;
  /** `allow-plaintext-artifact`. */
  allowPlaintext: boolean;
  /** The inputs that would encrypt it; none when the action cannot encrypt (then the way out is another destination). */
  encryptionInputs: readonly string[];
}

export const ALLOW_PLAINTEXT_INPUT = 'allow-plaintext-artifact';

/** ConfigurationError naming the inputs when an unencrypted backup would go to an artifact without permission. */
export function requireEncryptedArtifact(check: PlaintextArtifactCheck): void {
  const d = check.destination;
  if (typeof d === 'string' || d.kind !== 'artifact' || check.encrypted || check.allowPlaintext) return;
  const why = `input '${check.input}': ${describeDestination(d)} would store the database unencrypted as a workflow artifact, which anyone with read access to the repository can download`;
  const fix =
    check.encryptionInputs.length > 0
      ? `set ${check.encryptionInputs.join(' or ')} to encrypt it, or ${ALLOW_PLAINTEXT_INPUT}: true to keep it in plaintext anyway`
      : `this action does not encrypt its backup: use an s3:// or path destination, or set ${ALLOW_PLAINTEXT_INPUT}: true to keep it in plaintext anyway`;
  throw new ConfigurationError(`${why}; ${fix}`);
}
