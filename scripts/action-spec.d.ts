/** Types for scripts/action-spec.js. */
export const SPEC_FILE: string;
/** The text actions/common/specs.generated.ts should have, from the action.yml files. */
export function generateSpecs(): Promise<string>;
