import { outputsBySlot, outputsPublished, parsePrometheusText } from '../../bench/worker-metrics';

describe('worker /metrics parsing (bench)', () => {
  const text = [
    '# HELP enrollment_sync_output_events_total Output events published',
    '# TYPE enrollment_sync_output_events_total counter',
    'enrollment_sync_output_events_total{type="created"} 120',
    'enrollment_sync_output_events_total{type="updated"} 30',
    'enrollment_sync_relay_slot_outputs_total{slot="0"} 100',
    'enrollment_sync_relay_slot_outputs_total{slot="3"} 50',
    'enrollment_sync_relay_slots_owned 2',
    'process_cpu_seconds_total 1.5e+1',
  ].join('\n');

  it('sums the published outputs over their types', () => {
    expect(outputsPublished(parsePrometheusText(text))).toBe(150);
  });

  it('takes outputs per slot from a counter with a slot label only', () => {
    expect([...outputsBySlot(parsePrometheusText(text))]).toEqual([
      ['0', 100],
      ['3', 50],
    ]);
  });

  it('reads exponent notation and labels with escaped quotes', () => {
    const samples = parsePrometheusText('process_cpu_seconds_total 1.5e+1\nm{a="x\\"y"} 2');
    expect(samples).toEqual([
      { name: 'process_cpu_seconds_total', labels: {}, value: 15 },
      { name: 'm', labels: { a: 'x\\"y' }, value: 2 },
    ]);
  });
});
