import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CommandError, CommandErrorCode } from './errors.js';
import { run, spawnProcess } from './exec.js';

// A killed orphan is re-parented to PID 1, which on these machines (process_api) reaps lazily: a
// zombie ('Z') counts as dead.
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitDead(pid: number, ms = 2000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return !alive(pid);
}

describe('run', () => {
  it('captures stdout, stderr and the exit code', async () => {
    const r = await run('sh', ['-c', 'echo out; echo err >&2; exit 3']);
    expect(r).toMatchObject({ code: 3, signal: null, stdout: 'out\n', stderr: 'err\n' });
    expect(r.timedOut).toBe(false);
  });

  it('passes arguments verbatim, never through a shell', async () => {
    const r = await run('printf', ['%s|', '$(id)', 'a b', '; rm -rf /']);
    expect(r.stdout).toBe('$(id)|a b|; rm -rf /|');
  });

  it('writes input to stdin', async () => {
    const r = await run('cat', [], { input: 'hello\nworld' });
    expect(r.stdout).toBe('hello\nworld');
  });

  it('keeps only the tail of output past the cap', async () => {
    const r = await run('sh', ['-c', 'seq 1 100000'], { maxBufferBytes: 1000 });
    expect(r.stdout.length).toBe(1000);
    expect(r.stdout.endsWith('99999\n100000\n')).toBe(true);
    expect(r.stdoutTruncated).toBe(true);
  });

  it('streams lines as they are printed, before the process exits', async () => {
    const seen: { line: string; stream: string; at: number }[] = [];
    const start = Date.now();
    const r = await run('sh', ['-c', 'echo one; echo two >&2; sleep 0.4; printf last'], {
      onLine: (line, stream) => seen.push({ line, stream, at: Date.now() - start }),
    });
    expect(seen.map((s) => `${s.stream}:${s.line}`)).toEqual([
      'stdout:one',
      'stderr:two',
      'stdout:last',
    ]);
    expect(seen[0]!.at).toBeLessThan(r.durationMs - 200);
  });

  it('rejects with CommandError carrying code and stderr tail when check is set', async () => {
    const err = await run('sh', ['-c', 'echo boom >&2; exit 7'], { check: true }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CommandError);
    const ce = err as CommandError;
    expect(ce.code).toBe(CommandErrorCode.Failed);
    expect(ce.exitCode).toBe(7);
    expect(ce.stderrTail).toContain('boom');
    expect(ce.message).toContain('exited with code 7: boom');
    expect(ce.command).toEqual(['sh', '-c', 'echo boom >&2; exit 7']);
  });

  it('rejects with SPAWN_FAILED when the executable does not exist', async () => {
    const err = await run('/nonexistent/joblet-no-such-binary', []).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect((err as CommandError).code).toBe(CommandErrorCode.SpawnFailed);
  });

  it('on timeout kills the whole process group, grandchildren included', async () => {
    const pids: number[] = [];
    const r = await run('sh', ['-c', 'sleep 30 & echo $!; sleep 30; wait'], {
      timeoutMs: 300,
      killGraceMs: 200,
      onLine: (l) => pids.push(Number(l)),
    });
    expect(r.timedOut).toBe(true);
    expect(r.signal).toBe('SIGTERM');
    expect(r.durationMs).toBeLessThan(5000);
    expect(pids).toHaveLength(1);
    expect(await waitDead(pids[0]!)).toBe(true);
  });

  it('escalates to SIGKILL when the group ignores SIGTERM', async () => {
    const r = await run('sh', ['-c', "trap '' TERM; sleep 30 & wait; sleep 30"], {
      timeoutMs: 200,
      killGraceMs: 200,
    });
    expect(r.timedOut).toBe(true);
    expect(r.signal).toBe('SIGKILL');
  });

  it('kills the group when the AbortSignal fires', async () => {
    const ac = new AbortController();
    const pids: number[] = [];
    const p = run('sh', ['-c', 'sleep 30 & echo $!; wait'], {
      signal: ac.signal,
      onLine: (l) => {
        pids.push(Number(l));
        ac.abort();
      },
    });
    const r = await p;
    expect(r.aborted).toBe(true);
    expect(await waitDead(pids[0]!)).toBe(true);
    const err = await run('true', [], { signal: ac.signal, check: true }).catch((e: unknown) => e);
    expect((err as CommandError).code).toBe(CommandErrorCode.Aborted);
  });

  it('does not start a command whose signal already fired', async () => {
    const r = await run('sh', ['-c', 'exit 0'], { signal: AbortSignal.abort() });
    expect(r).toMatchObject({ aborted: true, code: null });
  });

  it('kills helpers left behind when the leader exits', async () => {
    const r = await run('sh', ['-c', 'sleep 30 & echo $!']);
    expect(r.code).toBe(0);
    expect(r.durationMs).toBeLessThan(5000);
    expect(await waitDead(Number(r.stdout.trim()))).toBe(true);
  });

  it('exposes stdin and stdout as streams in pipe mode', async () => {
    const h = spawnProcess('tr', ['a-z', 'A-Z'], { stdin: 'pipe', stdout: 'pipe' });
    const chunks: Buffer[] = [];
    h.stdout!.on('data', (c: Buffer) => chunks.push(c));
    h.stdin!.end('shout');
    const r = await h.result;
    expect(r.code).toBe(0);
    expect(Buffer.concat(chunks).toString()).toBe('SHOUT');
  });
});
