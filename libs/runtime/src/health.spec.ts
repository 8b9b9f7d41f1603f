import { HealthChecks } from './health';

describe('HealthChecks', () => {
  it('holds readiness back with a start-up gate until it first passes, then never runs it again', async () => {
    const sut = new HealthChecks();
    const answers = [false, true, false];
    let runs = 0;
    sut.register('nats', () => true);
    sut.registerStartupGate('planner', () => answers[runs++]!);

    expect(await sut.readiness()).toEqual({ ready: false, checks: { accepting: true, nats: true, planner: false } });
    expect(await sut.readiness()).toEqual({ ready: true, checks: { accepting: true, nats: true, planner: true } });
    // The upstream's later outage (its third answer) is never asked: the gateway stays ready.
    expect(await sut.readiness()).toMatchObject({ ready: true, checks: { planner: true } });
    expect(runs).toBe(2);
  });

  it('counts a gate whose check throws as not passed', async () => {
    const sut = new HealthChecks();
    sut.registerStartupGate('planner', () => Promise.reject(new Error('no responders')));
    expect(await sut.readiness()).toMatchObject({ ready: false, checks: { planner: false } });
  });
});
