/**
 * The one LISTEN session a process keeps (PgNotificationListener) on the real Postgres: every
 * subscriber of a channel hears its NOTIFYs, and when the session is killed the subscribers are
 * told (so they poll), the listener reconnects by itself and they hear NOTIFYs again.
 */
import { DataSource } from 'typeorm';
import { applicationNameOf, createDataSource, NotificationSubscriber, PgNotificationListener } from '@app/persistence';
import { eventually } from '../support/eventually';
import { isolatedConfig } from '../support/isolation';

class Recorder implements NotificationSubscriber {
  notifications = 0;
  states: boolean[] = [];
  notified(): void {
    this.notifications++;
  }
  listenerDown(down: boolean): void {
    this.states.push(down);
  }
}

describe('PgNotificationListener', () => {
  const config = isolatedConfig();
  const who = `listener-${config.runId}`;
  let ds: DataSource;
  let listener: PgNotificationListener;

  beforeAll(async () => {
    ds = await createDataSource(config.database).initialize();
    listener = new PgNotificationListener(config.database, who);
  });
  afterAll(async () => {
    await listener?.close();
    await ds?.destroy();
  });

  const channelA = `t_a_${config.runId}`;
  const channelB = `t_b_${config.runId}`;
  const notify = (channel: string) => ds.query(`SELECT pg_notify($1, '')`, [channel]);

  it('delivers each channel to its subscribers, and comes back by itself after its session is killed', async () => {
    const a1 = new Recorder();
    const a2 = new Recorder();
    const b = new Recorder();
    listener.subscribe(channelA, a1);
    listener.subscribe(channelA, a2);
    listener.subscribe(channelB, b);
    await eventually(async () => (listener.listening ? true : undefined), 'the listener to connect', 10_000);
    expect(a1.states).toEqual([true, false]); // down until connected, then up

    await notify(channelA);
    await eventually(async () => (a1.notifications === 1 && a2.notifications === 1 ? true : undefined), 'both subscribers of A to hear it');
    expect(b.notifications).toBe(0);

    // When the listener's session is killed (only ours: its application_name is this run's)
    const [{ n }]: { n: number }[] = await ds.query(`SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1`, [
      applicationNameOf(config.database.schema, who),
    ]);
    expect(n).toBe(1);

    // Then the subscribers are told it is down, then back, and hear NOTIFYs again
    await eventually(async () => (b.states.join() === 'true,false,true,false' ? true : undefined), 'B to see the listener go down and come back', 20_000);
    await notify(channelB);
    await eventually(async () => (b.notifications === 1 ? true : undefined), 'B to hear a NOTIFY after the reconnect');
  }, 60_000);
});
