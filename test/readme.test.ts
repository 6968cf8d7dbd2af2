import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

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

describe('each action README', () => {
  const actions = readdirSync('actions').filter((d) => existsSync(`actions/${d}/action.yml`));

  it.each(actions)('%s says which outputs carry a value when the step fails', (name) => {
    const readme = readFileSync(`actions/${name}/README.md`, 'utf8');
    expect(readme).toMatch(/### Outputs on failure\n\nEvery output is set on every exit\./);
  });

  it('and the README documents npm run action', () => {
    expect(readFileSync('README.md', 'utf8')).toMatch(/npm run action -- <name>/);
  });
});
