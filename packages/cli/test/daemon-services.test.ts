/**
 * The daemon's services (src/daemon/services.ts): started in order, stopped in reverse, a failed
 * start stops what started and names the service that failed.
 */
import { describe, expect, it } from 'vitest';
import { resource, ServiceStack, type Service } from '../src/daemon/services.ts';

function recording() {
  const steps: string[] = [];
  const errors: string[] = [];
  const service = (name: string, options: { failStart?: boolean; failStop?: boolean } = {}): Service<string> => ({
    name,
    async start() {
      if (options.failStart) throw new Error(`${name} cannot start`);
      steps.push(`start ${name}`);
      return `${name} value`;
    },
    stop() {
      steps.push(`stop ${name}`);
      if (options.failStop) throw new Error(`${name} cannot stop`);
    },
  });
  return { steps, errors, service, stack: new ServiceStack({ error: (m) => errors.push(m) }) };
}

describe('ServiceStack', () => {
  it('starts in order, gives each start its value, and stops in reverse order once', async () => {
    const { steps, service, stack } = recording();
    expect(await stack.start(service('stores'))).toBe('stores value');
    await stack.start(service('server'));
    await stack.start(service('heartbeat'));
    expect(stack.names).toEqual(['stores', 'server', 'heartbeat']);
    await stack.stopAll();
    await stack.stopAll();
    expect(steps).toEqual(['start stores', 'start server', 'start heartbeat', 'stop heartbeat', 'stop server', 'stop stores']);
  });

  it('a failed start stops what started, newest first, logs which service failed and throws its error', async () => {
    const { steps, errors, service, stack } = recording();
    await stack.start(service('stores'));
    await stack.start(service('settings'));
    await expect(stack.start(service('API server', { failStart: true }))).rejects.toThrow('API server cannot start');
    expect(steps).toEqual(['start stores', 'start settings', 'stop settings', 'stop stores']);
    expect(errors).toEqual(['the API server failed to start; stopping what started (settings, stores)']);
    expect(stack.names).toEqual([]);
  });

  it('a stop that fails is logged and the others still stop', async () => {
    const { steps, errors, service, stack } = recording();
    await stack.start(service('stores'));
    await stack.start(service('channels', { failStop: true }));
    await stack.stopAll();
    expect(steps).toEqual(['start stores', 'start channels', 'stop channels', 'stop stores']);
    expect(errors).toEqual(['stopping the channels failed: channels cannot stop']);
  });

  it('resource() closes what it opened, and nothing when its open failed', async () => {
    const closed: string[] = [];
    const stack = new ServiceStack({ error: () => {} });
    expect(
      await stack.start(
        resource(
          'lock',
          () => 'the lock',
          (v) => closed.push(v),
        ),
      ),
    ).toBe('the lock');
    await expect(
      stack.start(
        resource(
          'stores',
          async () => {
            throw new Error('unreachable');
          },
          () => closed.push('stores'),
        ),
      ),
    ).rejects.toThrow('unreachable');
    expect(closed).toEqual(['the lock']);
  });
});
