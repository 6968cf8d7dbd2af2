import * as core from '@actions/core';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseSmokeOptions } from '../../src/smoke/config.js';
import { runSmokeTests } from '../../src/smoke/run.js';
import { formatSmokeSummary } from '../../src/smoke/summary.js';
import { runAction } from '../common/run.js';

await runAction('smoke-test', async (ctx) => {
  const options = parseSmokeOptions(ctx.inputs);
  for (const s of options.secrets) ctx.secret(s);
  const reportPath = ctx.inputs.string('report-file') || defaultReportPath(ctx.tempDir);

  const report = await runSmokeTests(options, ctx.logger);

  await mkdir(path.dirname(reportPath), { recursive: true });
  await writeFile(reportPath, JSON.stringify(report, null, 2) + '\n');
  ctx.output('passed', String(report.passed));
  ctx.output('failed', report.failed.join(','));
  ctx.output('report', reportPath);
  ctx.output('p95-ms', report.p95Ms === undefined ? '' : String(Math.round(report.p95Ms)));
  await core.summary.addRaw(formatSmokeSummary(report, reportPath)).write();

  const failures = report.checks.filter((c) => !c.passed);
  for (const f of failures.slice(0, 10))
    core.error(`${f.name}: ${f.reason}`, { title: `smoke check '${f.name}' failed` });
  if (failures.length > 0) {
    core.setFailed(`smoke-test failed: ${failures.map((f) => `${f.name}: ${f.reason}`).join(' | ')}`);
  }
});

function defaultReportPath(tempDir: string): string {
  return path.join(tempDir, 'opskit', `smoke-test-report-${Date.now()}.json`);
}
