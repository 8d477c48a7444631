// The one conformance suite every Registry adapter passes; kept whole on purpose (one long suite function)
// so every adapter is held to one text, read in one place.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Registry, RegistryState, ServiceInstance } from './types';

export interface RegistrySuiteTarget {
  /** A new registry client (for ZooKeeper: a new session) on the same registry namespace. */
  create(): Promise<Registry>;
  /**
   * Cross-process cases (SIGKILL of a registered child process). Omitted for in-process
   * adapters, with `engineOnly` saying why.
   */
  child?: {
    /** URL the child passes to createRegistry */
    url: string;
    sessionTimeoutMs: number;
  };
  /** Stops / restarts the engine, keeping its data (outage case). */
  outage?: { stop(): Promise<void>; start(): Promise<void> };
  /** Makes the server expire the session of `registry` (session-expiry case). */
  expireSession?(registry: Registry): Promise<void>;
  /** Why engine-specific cases do not apply, shown in the test name when they are skipped. */
  engineOnly?: string;
  /** Timings measured by the engine cases are reported here (ms). */
  report?(what: string, ms: number): void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until `check` returns true; resolves with the elapsed ms, rejects after timeoutMs. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 5000): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** Records every list a subscription delivers. */
function recorder(registry: Registry, service: string) {
  const calls: ServiceInstance[][] = [];
  const unsubscribe = registry.subscribe(service, (list) => calls.push(list));
  return {
    calls,
    unsubscribe,
    last: () => calls.at(-1) ?? [],
    ids: () => (calls.at(-1) ?? []).map((i) => i.id),
  };
}

function stateLog(registry: Registry) {
  const states: RegistryState[] = [];
  const off = registry.on('state', (s) => states.push(s));
  return { states, off };
}

const fixture = fileURLToPath(new URL('./fixtures/registered-child.ts', import.meta.url));

export function runRegistrySuite(name: string, target: RegistrySuiteTarget): void {
  describe(`Registry conformance: ${name}`, () => {
    const open: Registry[] = [];
    const children: ChildProcess[] = [];
    const client = async () => {
      const r = await target.create();
      open.push(r);
      return r;
    };
    const onlyEngine = (title: string, available: boolean) =>
      available ? title : `${title} [skipped for ${name}: ${target.engineOnly ?? 'not supported'}]`;

    afterAll(async () => {
      for (const child of children)
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await Promise.all(open.map((r) => r.close()));
    });

    it('is connected and healthy', async () => {
      const r = await client();
      expect(r.state()).toBe('connected');
      const health = await r.health();
      expect(health.ok).toBe(true);
      expect(health.detail).toBeTypeOf('string');
    });

    it('delivers join, update and leave to subscribers', async () => {
      const a = await client();
      const b = await client();
      const seen = recorder(b, 'transcoder');
      await waitFor('the initial list', () => seen.calls.length >= 1);
      expect(seen.calls[0]).toEqual([]);

      const handle = await a.register('transcoder', {
        id: 'tx-1',
        host: '10.0.0.1',
        port: 7001,
        roles: ['h264', 'hevc'],
        weight: 2,
        metadata: { gpu: false, slots: 4 },
        load: 0.25,
        version: '1.2.3',
      });
      await waitFor('join', () => seen.ids().includes('tx-1'));
      const joined = seen.last()[0]!;
      expect(joined).toMatchObject({
        service: 'transcoder',
        id: 'tx-1',
        host: '10.0.0.1',
        port: 7001,
        roles: ['h264', 'hevc'],
        weight: 2,
        metadata: { gpu: false, slots: 4 },
        load: 0.25,
        version: '1.2.3',
      });
      expect(Number.isNaN(Date.parse(joined.startedAt))).toBe(false);

      await handle.update({ load: 0.75, metadata: { gpu: false, slots: 2 } });
      await waitFor('update', () => seen.last()[0]?.load === 0.75);
      expect(seen.last()[0]!.metadata).toEqual({ gpu: false, slots: 2 });
      expect(seen.last()[0]!.weight).toBe(2);
      expect(b.list('transcoder').map((i) => i.load)).toEqual([0.75]);
      expect(await b.services()).toContain('transcoder');

      await handle.unregister();
      await waitFor('leave', () => seen.ids().length === 0);
      expect(b.list('transcoder')).toEqual([]);
      expect(await b.services()).not.toContain('transcoder');
      await handle.unregister(); // idempotent
      await expect(handle.update({ load: 1 })).rejects.toThrow();
      seen.unsubscribe();
    });

    it('sorts instances by id, keeps services apart and stops calling after unsubscribe', async () => {
      const a = await client();
      const b = await client();
      const edge = recorder(b, 'edge');
      const origin = recorder(b, 'origin');
      await a.register('edge', { id: 'e-2', host: 'h', port: 2 });
      await b.register('edge', { id: 'e-1', host: 'h', port: 1 });
      await a.register('origin', { id: 'o-1', host: 'h', port: 3 });
      await waitFor('both edges', () => edge.ids().join() === 'e-1,e-2');
      await waitFor('origin', () => origin.ids().join() === 'o-1');
      expect(edge.last().every((i) => i.service === 'edge')).toBe(true);
      // a's first list() of a service it never subscribed to starts tracking it (cache fills shortly)
      await waitFor('a lists both edges', () => a.list('edge').length === 2);
      expect(a.list('edge').map((i) => i.id)).toEqual(['e-1', 'e-2']);
      edge.unsubscribe();
      const before = edge.calls.length;
      await a.register('edge', { id: 'e-3', host: 'h', port: 3 });
      await waitFor('e-3 via list', () => b.list('edge').length === 3);
      await sleep(50);
      expect(edge.calls.length).toBe(before);
      expect((await a.services()).filter((s) => s === 'edge' || s === 'origin')).toEqual(['edge', 'origin']);
    });

    it('lets two clients see each other', async () => {
      const a = await client();
      const b = await client();
      const seenByA = recorder(a, 'peers');
      const seenByB = recorder(b, 'peers');
      await a.register('peers', { id: 'a', host: 'host-a', port: 1 });
      await b.register('peers', { id: 'b', host: 'host-b', port: 2 });
      await waitFor('a sees both', () => seenByA.ids().join() === 'a,b');
      await waitFor('b sees both', () => seenByB.ids().join() === 'a,b');
    });

    it('removes the instances of a closed client quickly', async () => {
      const a = await client();
      const b = await client();
      const seen = recorder(b, 'closing');
      await a.register('closing', { id: 'c-1', host: 'h', port: 1 });
      await a.register('closing', { id: 'c-2', host: 'h', port: 2 });
      await waitFor('both registered', () => seen.ids().length === 2);
      const started = Date.now();
      await a.close();
      await waitFor('both gone', () => seen.ids().length === 0, 2000);
      const ms = Date.now() - started;
      target.report?.('clean close -> instances gone', ms);
      expect(ms).toBeLessThan(1000);
      expect(a.state()).toBe('closed');
      await expect(a.register('closing', { id: 'c-3', host: 'h', port: 3 })).rejects.toThrow(/closed/);
    });

    it('last registration of an id wins; the replaced handle can no longer touch it', async () => {
      const a = await client();
      const b = await client();
      const seen = recorder(b, 'dup');
      const first = await a.register('dup', { id: 'same', host: 'first', port: 1 });
      await waitFor('first', () => seen.last()[0]?.host === 'first');
      const winner = await b.register('dup', { id: 'same', host: 'second', port: 2 });
      await waitFor('second', () => seen.last()[0]?.host === 'second');
      expect(seen.ids()).toEqual(['same']);
      await expect(first.update({ load: 0.9 })).rejects.toThrow(/taken over/);
      await first.unregister();
      await winner.update({ load: 0.5 });
      await waitFor('winner updated', () => seen.last()[0]?.load === 0.5);
      expect(seen.last()).toHaveLength(1);
      expect(seen.last()[0]!.host).toBe('second');
      // the same registry registering an id again replaces its own earlier handle
      await b.register('dup', { id: 'same', host: 'third', port: 3 });
      await waitFor('third', () => seen.last()[0]?.host === 'third');
      await expect(winner.update({ load: 0.1 })).rejects.toThrow(/taken over/);
      await winner.unregister();
      await sleep(100);
      expect(seen.last().map((i) => i.host)).toEqual(['third']);
    });

    it('rejects invalid names', async () => {
      const a = await client();
      await expect(a.register('bad/name', { id: 'x', host: 'h', port: 1 })).rejects.toThrow(
        /invalid service/,
      );
      await expect(a.register('ok', { id: '..', host: 'h', port: 1 })).rejects.toThrow(/invalid instance id/);
    });

    // Engine-only cases are not defined at all for an adapter without an engine (a local registry has no
    // process, session or server to kill, expire or restart), rather than reported as skipped.
    (target.expireSession ? it : undefined)?.(
      onlyEngine('survives session expiry: re-registers and restores subscriptions', !!target.expireSession),
      async () => {
        const a = await client();
        const b = await client();
        const log = stateLog(a);
        const seenByB = recorder(b, 'expiry');
        const seenByA = recorder(a, 'expiry');
        await a.register('expiry', { id: 'survivor', host: 'h', port: 1, load: 1 });
        await waitFor('registered', () => seenByB.ids().includes('survivor'));
        const before = (await a.health()).detail;
        const started = Date.now();
        await target.expireSession!(a);
        await waitFor(
          'expired then connected',
          () => log.states.includes('expired') && a.state() === 'connected',
        );
        expect((await a.health()).detail).not.toBe(before); // new session id
        await waitFor('re-registered', () => seenByB.ids().includes('survivor'));
        target.report?.('session expiry -> re-registered', Date.now() - started);
        // the old session's node went away in between, and subscriptions work on the new session
        await b.register('expiry', { id: 'newcomer', host: 'h', port: 2 });
        await waitFor('a sees newcomer', () => seenByA.ids().join() === 'newcomer,survivor');
        log.off();
      },
    );

    (target.child ? it : undefined)?.(
      onlyEngine('drops a SIGKILLed process within the session timeout', !!target.child),
      async () => {
        const { url, sessionTimeoutMs } = target.child!;
        const watcher = await client();
        const seen = recorder(watcher, 'killed');
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', fixture, url, 'killed', 'victim', String(sessionTimeoutMs)],
          {
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        children.push(child);
        let output = '';
        child.stdout!.on('data', (d) => {
          output += d;
        });
        child.stderr!.on('data', (d) => {
          output += d;
        });
        await waitFor('child ready', () => output.includes('ready') || child.exitCode !== null, 20_000);
        expect(output).toContain('ready');
        await waitFor('child instance visible', () => seen.ids().includes('victim'));
        expect(seen.last()[0]!.metadata).toEqual({ pid: child.pid });
        const killedAt = Date.now();
        child.kill('SIGKILL');
        const ms = await waitFor(
          'killed instance gone',
          () => !seen.ids().includes('victim'),
          sessionTimeoutMs * 2 + 3000,
        );
        target.report?.(
          `SIGKILLed instance gone (session timeout ${sessionTimeoutMs} ms)`,
          Date.now() - killedAt,
        );
        expect(ms).toBeGreaterThan(sessionTimeoutMs / 2); // it was the session expiry, not a clean close
        expect(ms).toBeLessThan(sessionTimeoutMs * 2 + 2000);
      },
    );

    (target.outage ? it : undefined)?.(
      onlyEngine(
        'serves the last known list during an engine outage and re-registers after restart',
        !!target.outage,
      ),
      async () => {
        const a = await client();
        const b = await client();
        const aLog = stateLog(a);
        const bLog = stateLog(b);
        const seen = recorder(b, 'outage');
        const handle = await a.register('outage', { id: 'o-1', host: 'h', port: 1, load: 0.1 });
        await waitFor('registered', () => seen.ids().includes('o-1'));
        const callsBefore = seen.calls.length;

        await target.outage!.stop();
        await waitFor('b notices the outage', () => b.state() === 'disconnected', 10_000);
        expect(bLog.states).toContain('disconnected');

        // list() answers from the cache without waiting for the network
        const t0 = performance.now();
        const during = b.list('outage');
        const listMs = performance.now() - t0;
        expect(during.map((i) => i.id)).toEqual(['o-1']);
        expect(listMs).toBeLessThan(20);
        expect((await b.health()).ok).toBe(false);
        // writes do not block either; they are applied on reconnect
        const t1 = Date.now();
        await handle.update({ load: 0.9 });
        expect(Date.now() - t1).toBeLessThan(100);

        const restartAt = Date.now();
        await target.outage!.start();
        const startedMs = Date.now() - restartAt;
        await waitFor(
          'both reconnected',
          () => a.state() === 'connected' && b.state() === 'connected',
          15_000,
        );
        const reconnectMs = Date.now() - restartAt;
        // the update made during the outage arrives through b's (re-armed) subscription
        await waitFor('update after restart', () => seen.last()[0]?.load === 0.9, 15_000);
        const updatedMs = Date.now() - restartAt;
        expect(seen.calls.length).toBeGreaterThan(callsBefore);
        // new registrations after the restart reach subscribers too
        await a.register('outage', { id: 'o-2', host: 'h', port: 2 });
        await waitFor('o-2 after restart', () => seen.ids().join() === 'o-1,o-2', 10_000);
        // and a fresh client (new session) finds both registered in the engine
        const fresh = await client();
        const freshSeen = recorder(fresh, 'outage');
        await waitFor('fresh client sees both', () => freshSeen.ids().join() === 'o-1,o-2', 10_000);
        target.report?.('engine restart (start script)', startedMs);
        target.report?.('engine restart -> clients reconnected', reconnectMs);
        target.report?.('engine restart -> outage update visible to subscriber', updatedMs);
        expect(aLog.states).toContain('disconnected');
        aLog.off();
        bLog.off();
      },
    );
  });
}
