import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { repositoryRoot } from '@app/scripts/generate-asyncapi';
import { renderEventSchemaFiles } from '@app/scripts/generate-event-schemas';
import { eventSchemaFile, OUTPUT_EVENT_SCHEMA_FILE } from './event-json-schemas';
import { INPUT_EVENT_TYPES, INPUT_EVENTS } from './input-events';
import { buildOutputEvent, EXAMPLE_COURSE_ENROLLMENT } from './output-event';
import { cloudEvent } from './testing/messages';

const DIR = join(repositoryRoot(__dirname), 'docs', 'schemas');
const generated = renderEventSchemaFiles();

function validatorOf(file: string) {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);
  return ajv.compile(JSON.parse(readFileSync(join(DIR, file), 'utf8')));
}

describe('docs/schemas (JSON Schemas of the events)', () => {
  it('holds exactly what scripts/generate-event-schemas.ts produces (regenerate them if this fails)', () => {
    const committed = readdirSync(DIR)
      .filter((f) => f.endsWith('.schema.json'))
      .sort();
    expect(committed).toEqual(Object.keys(generated).sort());
    for (const name of committed) expect([name, readFileSync(join(DIR, name), 'utf8')]).toEqual([name, generated[name]]);
  });

  it('has one file per input type and one for the output event', () => {
    expect(Object.keys(generated)).toEqual([...INPUT_EVENT_TYPES.map(eventSchemaFile), OUTPUT_EVENT_SCHEMA_FILE]);
  });

  it.each(INPUT_EVENT_TYPES)('%s: accepts the contract example and rejects a broken one', (type) => {
    const validate = validatorOf(eventSchemaFile(type));
    const example = cloudEvent(type, INPUT_EVENTS[type].example);
    expect([validate(example), validate.errors]).toEqual([true, null]);
    expect(validate({ ...example, type: 'lms.something.else' })).toBe(false);
    expect(validate({ ...example, data: 'not an object' })).toBe(false);
    const { time: _t, ...withoutTime } = example;
    expect(validate(withoutTime)).toBe(false);
  });

  it('the output schema accepts a built event of each type and rejects a broken one', () => {
    const validate = validatorOf(OUTPUT_EVENT_SCHEMA_FILE);
    for (const type of ['created', 'updated', 'deleted'] as const) {
      const event = buildOutputEvent({
        id: 'e-1',
        time: '2026-11-20T10:15:31.004Z',
        type,
        version: 2,
        changedFields: ['status'],
        cause: { job: 'deadline-sweep' },
        courseEnrollment: EXAMPLE_COURSE_ENROLLMENT,
      });
      expect([type, validate(event), validate.errors]).toEqual([type, true, null]);
      expect(validate({ ...event, data: { ...event.data, version: 0 } })).toBe(false);
      expect(validate({ ...event, type: 'lms.course_enrollment.moved' })).toBe(false);
    }
  });
});
