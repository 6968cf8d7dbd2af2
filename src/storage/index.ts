/**
 * The storage layer's front door: destinations (destination.ts: parse a destination input into a spec, open the
 * spec's store), the stores (file, artifact; S3 through destination.ts's lazy store or './s3.js' itself), and
 * naming helpers.
 *
 * Not `export { createS3Store } from './s3.js'`: that would load the AWS SDK with this module. Import
 * createS3Store from './s3.js' itself.
 */
export type { IncompleteWrite, PutOptions, S3Credentials, S3Settings, Store, StoredObject } from './types.js';
export { abortReason, normalizePrefix } from './types.js';
export { createArtifactStore, artifactName, sanitizeArtifactName, ARTIFACT_UNAVAILABLE } from './artifact.js';
export { createFileStore, notFound } from './file.js';
export type { S3Store, S3StoreOptions } from './s3.js';
export {
  type Destination,
  type DestinationSpec,
  type OptionalDestination,
  type StoreContext,
  describeDestination,
  openOptionalStore,
  openStore,
  parseDestinationSpec,
  parseOptionalDestination,
  parseS3Settings,
} from './destination.js';

/** `prefix` + `name` with exactly one `/` between them (none when the prefix is empty). */
export function joinKey(prefix: string, name: string): string {
  const p = prefix.replace(/\/+$/, '');
  const n = name.replace(/^\/+/, '');
  return p ? `${p}/${n}` : n;
}
