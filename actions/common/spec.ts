/** What an action's entry point knows of its action.yml (generated into specs.generated.ts). */
export interface ActionSpec {
  /** Each input's default as the runner passes it ('' when none; null when it is an expression). */
  inputs: Record<string, string | null>;
  /** Inputs whose description ends in "Secret.": masked (and, for a URL, its credential parts) before anything runs. */
  secrets: string[];
  /** Every output the action declares: each is set on every exit, empty when it has no value. */
  outputs: string[];
}
