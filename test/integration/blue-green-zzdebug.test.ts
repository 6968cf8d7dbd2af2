import { it } from '@jest/globals';
import { runAction } from '../harness/action.js';
import { startColourBackend, startNginx } from '../harness/nginx.js';

it('prints', async () => {
  const blue = await startColourBackend('blue', 'v1');
  const green = await startColourBackend('green', 'v2');
  const nginx = await startNginx({ servers: [blue.server] });
  try {
    const inputs = {
      'upstream-file': nginx.upstreamFile, blue: blue.server, green: green.server,
      'nginx-test-command': nginx.testCommand, 'nginx-reload-command': nginx.reloadCommand,
      'health-successes': '2', 'bake-time': '2s', steps: '10,50,100', 'verify-url': `${nginx.url}/`, 'verify-expect': 'v2',
    };
    const env = { GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'acme/app', GITHUB_RUN_ID: '42' };
    const ok = await runAction('blue-green-switch', inputs, { env });
    console.log(ok.stdout + '\n-----\n' + ok.summary + '\n-----\n' + (await nginx.readUpstream()));
    const st = await runAction('blue-green-switch', { action: 'status', 'upstream-file': nginx.upstreamFile }, { env });
    console.log(st.stdout + '\n-----\n' + st.summary);
    const running = runAction('blue-green-switch', { ...inputs, to: 'blue', steps: '50,100', 'bake-time': '4s' }, { env });
    await new Promise((r) => setTimeout(r, 3500));
    blue.setHealthy(false);
    const bad = await running;
    console.log(bad.stdout + '\n-----\n' + bad.summary);
  } finally {
    await nginx.stop(); await blue.kill(); await green.kill();
  }
}, 60_000);
