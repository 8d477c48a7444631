import { run } from './proc';

export interface WrkResult {
  requests: number;
  reqPerSec: number;
  bytesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  socketErrors: string;
}

const ms = (v: string, unit: string) =>
  Number(v) * (unit === 'us' ? 1e-3 : unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 1);
const bytesOf = (v: string, unit: string) =>
  Number(v) * ({ B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[unit] ?? 1);

/** Parses `wrk --latency` output. */
export function parseWrk(out: string): WrkResult {
  const num = (re: RegExp) => {
    const m = re.exec(out);
    if (!m) throw new Error(`wrk output did not match ${re}:\n${out}`);
    return m;
  };
  const rps = Number(num(/Requests\/sec:\s+([\d.]+)/)[1]);
  const t = num(/Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB)/);
  const p50 = num(/^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$/m);
  const p99 = num(/^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$/m);
  const reqs = num(/(\d+) requests in/);
  return {
    requests: Number(reqs[1]),
    reqPerSec: rps,
    bytesPerSec: bytesOf(t[1]!, t[2]!),
    p50Ms: ms(p50[1]!, p50[2]!),
    p99Ms: ms(p99[1]!, p99[2]!),
    non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0),
    socketErrors: /Socket errors:.*$/m.exec(out)?.[0] ?? '',
  };
}

/** wrk with two threads, `conns` connections, for `seconds`, with its latency distribution. */
export async function wrk(url: string, conns: number, seconds: number): Promise<WrkResult> {
  const r = await run('wrk', ['-t2', `-c${conns}`, `-d${seconds}s`, '--latency', url]);
  if (r.code !== 0) throw new Error(`wrk failed (${r.code}): ${r.stderr}\n${r.stdout}`);
  return parseWrk(r.stdout);
}
