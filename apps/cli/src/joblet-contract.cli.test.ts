/**
 * Joblet's CLI contract, through the real `rnx` binary against a running API (real Redis, real
 * directory store): what scripts written for Joblet parse. Table columns, totals only on a
 * terminal (a real pty from `script`), `job status` lines and short job ids, `runtime remove`
 * asking only on a terminal, quiet ends on a closed pipe, and RNX_SERVER as `host:port`.
 * Attached `job run` (which needs an agent) is in job-run.cli.test.ts.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JobRecord } from '@joblet/spec';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import { publishFakeRuntime, registerNode, startTestApi, type TestApi } from '@joblet/api/testing';
import { runRnx, runRnxOnTty, runRnxPiped } from './test-support/rnx-binary.js';

let api: TestApi;
let home: TempDir;
/** Enough nodes that `node list` outgrows a pipe's buffer (64 KiB): a closed pipe is then hit. */
const NODES = 1500;

const env = () => ({ HOME: home.path, RNX_CONFIG: '/nonexistent', RNX_SERVER: api.url! });
const rnx = (args: string[], extra: NodeJS.ProcessEnv = {}) => runRnx(args, { ...env(), ...extra });

beforeAll(async () => {
  home = await makeTempDir('rnx-contract-');
  api = await startTestApi(['amd64'], { listen: true });
  await publishFakeRuntime(api, 'py', '1.0.0', ['amd64']);
  await publishFakeRuntime(api, 'gone', '1.0.0', ['amd64']);
  await publishFakeRuntime(api, 'kept', '1.0.0', ['amd64']);
  await registerNode(api, 'node-000', 'amd64', ['py@1.0.0']);
  const pipeline = api.redis.pipeline();
  for (let i = 1; i < NODES; i++) {
    const name = `node-${String(i).padStart(4, '0')}`;
    pipeline.sadd(api.app.keys.nodes, name);
    pipeline.set(
      api.app.keys.node(name),
      JSON.stringify({
        name,
        arch: 'amd64',
        labels: {},
        capacity: 2,
        agentVersion: '0.1.0',
        runtimesDir: '/opt/joblet/runtimes',
        startedAt: new Date().toISOString(),
        lastHeartbeat: new Date().toISOString(),
      }),
    );
  }
  await pipeline.exec();
}, 60_000);
afterAll(async () => {
  await api?.close();
  await home?.cleanup();
});

describe('runtime list and node list', () => {
  it('prints the guide’s columns, each a single word, and no total when piped', async () => {
    const r = await rnx(['runtime', 'list']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^RUNTIME +VERSION +TYPE +SIZE +DESCRIPTION$/);
    expect(lines[1]).toMatch(/^-{7} +-{7} +-{4} +-{4} +-{11}$/);
    expect(lines.slice(2).map((l) => l.split(/ +/).slice(0, 5))).toEqual([
      ['gone', '1.0.0', 'python:3.11', '124MB', 'gone'],
      ['kept', '1.0.0', 'python:3.11', '124MB', 'kept'],
      ['py', '1.0.0', 'python:3.11', '124MB', 'py'],
    ]);
    expect(r.stdout).not.toContain('Total');
    const nodes = await rnx(['node', 'list']);
    expect(nodes.stdout).not.toContain('Total nodes');
  });

  it('takes --json before the command too, as Joblet’s global flag', async () => {
    const r = await rnx(['--json', 'runtime', 'list']);
    expect(r.stderr).toBe('');
    expect((JSON.parse(r.stdout) as { name: string }[]).map((x) => x.name)).toContain('py');
  });

  it('adds the totals for a person at a terminal', async () => {
    const r = await runRnxOnTty(['runtime', 'list'], env());
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^RUNTIME +VERSION +TYPE/);
    expect(r.stdout).toMatch(/\n\nTotal runtimes: 3\n$/);
  });
});

describe('a closed pipe ends rnx quietly', () => {
  it('`node list | head -1` and `| grep -q` exit 0 with nothing on stderr', async () => {
    const head = await runRnxPiped(['node', 'list'], 'head -1', env());
    expect(head).toMatchObject({ code: 0, consumerCode: 0, stderr: '' });
    expect(head.stdout).toMatch(/^NODE +ARCH +STATE/);
    const grep = await runRnxPiped(['node', 'list', '--json'], 'grep -q node-0001', env());
    expect(grep).toMatchObject({ code: 0, consumerCode: 0, stderr: '' });
  });

  it('`runtime info X | head -1` and a reader gone before rnx writes, likewise', async () => {
    const head = await runRnxPiped(['runtime', 'info', 'py'], 'head -1', env());
    expect(head).toMatchObject({ code: 0, stdout: 'Runtime: py\n', stderr: '' });
    const gone = await runRnxPiped(['runtime', 'info', 'py'], '{ exec 0<&-; sleep 1; }', env());
    expect(gone).toMatchObject({ code: 0, stderr: '' });
  });
});

describe('runtime remove', () => {
  it('removes every version without asking in a script (stdin not a terminal)', async () => {
    const r = await rnx(['runtime', 'remove', 'gone']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('removed gone@1.0.0');
  });

  it('asks a person at a terminal, and keeps the runtime on “no”', async () => {
    const r = await runRnxOnTty(['runtime', 'remove', 'kept'], env(), 'n\n');
    expect(r.stdout).toContain('Remove ALL versions of kept from the farm and every node? [y/N]');
    expect(r.stdout).toContain('Nothing removed.');
    expect(r.code).toBe(1);
    expect((await rnx(['runtime', 'info', 'kept'])).code).toBe(0);
  });
});

describe('jobs', () => {
  // The node's heartbeat, fresh for each test (the nodes above were registered a while ago).
  beforeEach(() => registerNode(api, 'node-000', 'amd64', ['py@1.0.0']));

  it('--detach prints ID:, Command: and Status: on stdout and returns', async () => {
    const r = await rnx([
      'job',
      'run',
      '--runtime=py',
      '--detach',
      '--schedule=1hour',
      'sleep',
      '5',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const id = /^ID: ([0-9a-f-]{36})$/m.exec(r.stdout)?.[1];
    expect(id).toBeDefined();
    expect(r.stdout).toContain('\nCommand: sleep 5\nStatus: SCHEDULED\nScheduled Time: ');

    // Its 8-character prefix works wherever a job id is taken.
    const status = await rnx(['job', 'status', id!.slice(0, 8)]);
    expect(status.stderr).toBe('');
    expect(status.stdout).toMatch(
      new RegExp(`^Job ID: ${id}\\nCommand: sleep 5\\nStatus: SCHEDULED\\n`),
    );
    expect(status.stdout).toMatch(/^Runtime: py@1\.0\.0 \(amd64\)$/m);

    const list = await rnx(['job', 'list']);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +NAME +NODE ID +STATUS +START TIME +COMMAND$/);
    expect(lines[1]).toMatch(/^-{2} +-{4} +-{7} +-{6} +-{10} +-{7}$/);
    const row = lines.find((l) => l.startsWith(id!));
    // Joblet's columns: ID, NAME, NODE ID, STATUS, START TIME (the scheduled one), COMMAND.
    expect(row?.split(/ +/)).toEqual([id, '-', '-', 'SCHEDULED', ...dateTime(row), 'sleep', '5']);

    const canceled = await rnx(['job', 'cancel', id!.slice(0, 8)]);
    expect(canceled.stdout).toBe(`job ${id}: CANCELED\n`);
    const after = await rnx(['job', 'status', '--json', id!.slice(0, 10)]);
    expect(JSON.parse(after.stdout)).toMatchObject({ id, state: 'CANCELED' });
  });

  it('names the jobs an ambiguous prefix matches, and refuses a prefix under 8 characters', async () => {
    const submitted = await api.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { command: 'true', runtime: 'py', schedule: '1hour' },
    });
    const job = JobRecord.parse(submitted.json());
    // Ids are random; two that share their first 8 characters are written as the API writes jobs.
    const twins = ['feedbeef-1111-4000-8000-000000000001', 'feedbeef-2222-4000-8000-000000000002'];
    for (const id of twins) await api.app.jobs.jobs.create({ ...job, id });
    const r = await rnx(['job', 'status', 'feedbeef']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Error: 409: job id prefix feedbeef is ambiguous: it matches `);
    for (const id of twins) expect(r.stderr).toContain(id);
    const short = await rnx(['job', 'stop', 'feedbee']);
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('a job id, or a unique prefix of at least 8 of its characters');
  });
});

describe('RNX_SERVER', () => {
  it('takes host:port, and an empty value as unset', async () => {
    const port = new URL(api.url!).port;
    const r = await rnx(['runtime', 'list', '--json'], { RNX_SERVER: `127.0.0.1:${port}` });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toHaveLength(2);
    const empty = await rnx(['runtime', 'list'], {
      RNX_SERVER: '',
      JOBLET_FARM_DIR: home.path,
    });
    // Unset: the default local farm address, which nothing here listens on.
    expect(empty.stderr).toContain('cannot reach the server at http://127.0.0.1:7070');
    expect(empty.stderr).not.toContain('RNX_SERVER');
  });
});

/** The two words of a row's START TIME column (`2026-01-02 15:04:05`). */
function dateTime(row: string | undefined): string[] {
  const m = /(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)/.exec(row ?? '');
  return m ? [m[1]!, m[2]!] : ['(no date)'];
}
