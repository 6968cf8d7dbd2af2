import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';

describe('README and CI agree', () => {
  it('.ci/run runs exactly the test command the README shows', () => {
    const readme = readFileSync('README.md', 'utf8');
    const ci = readFileSync('.ci/run', 'utf8');
    const command = /which, once the system packages are there, is the test command:\s+```sh\n(.+)\n```/.exec(
      readme,
    )?.[1];
    expect(command).toBeDefined();
    expect(ci.split('\n')).toContain(command);
    expect(readme).toContain('bash .ci/run');
  });
});
