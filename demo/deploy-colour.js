/**
 * The demo's deploy-command for one colour: what `docker compose up -d` with the release's image does on a real
 * host. blue-green-switch runs it on the idle colour with OPSKIT_COLOUR, OPSKIT_SERVERS and OPSKIT_VERSION set
 * (src/switch/release.ts); it asks the demo's host agent (the sample apps run inside the demo's process) to restart
 * that colour's app on the release, built from the commit given with --commit.
 *
 * Usage: node demo/deploy-colour.js <agent-url> --commit <commit>
 */
const [agent, flag, commit] = process.argv.slice(2);
const { OPSKIT_COLOUR: colour, OPSKIT_VERSION: version } = process.env;
if (!agent || flag !== '--commit' || !commit || !colour || !version) {
  process.stderr.write('usage: OPSKIT_COLOUR=… OPSKIT_VERSION=… node deploy-colour.js <agent-url> --commit <commit>\n');
  process.exit(2);
}
const url = new URL('/deploy', agent);
for (const [name, value] of Object.entries({ colour, version, commit })) url.searchParams.set(name, value);
const res = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(10_000) });
const text = (await res.text()).trim();
if (!res.ok) {
  process.stderr.write(`${colour}: the deploy of ${version} failed: ${res.status} ${text}\n`);
  process.exit(1);
}
process.stdout.write(`${text}\n`);
