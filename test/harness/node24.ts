/** The Node 24 binary the bundles run under in tests (the Actions runtime): see scripts/runner/node24.js. */
export { node24 } from '../../scripts/runner/node24.js';
