import { ENVELOPE_ATTRIBUTES } from './envelope';
import { INPUT_EVENTS, InputEventDefinition } from './input-events';
import { outputEventSchema } from './output-event';
import { JsonSchema, JsonSchemaContext } from './schema';
import { TRACEPARENT_SCHEMA, TRACESTATE_SCHEMA } from './trace-context';

/**
 * Stand-alone JSON Schemas (draft 2020-12) of every event, one file per CloudEvent type, for
 * teams that validate in another language. Built from the same schema objects that validate
 * messages and generate the AsyncAPI document; `scripts/generate-event-schemas.ts` writes them
 * to `docs/schemas/` and a unit test keeps the committed files equal to this output.
 */

export const JSON_SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';

/** The structured-mode CloudEvents envelope, shared by every input event. */
export function cloudEventEnvelope(ctx: JsonSchemaContext): JsonSchema {
  const A = ENVELOPE_ATTRIBUTES;
  return ctx.ref('CloudEvent', () => ({
    type: 'object',
    description: 'CloudEvents 1.0 envelope, structured mode: the Kafka message value is this JSON object.',
    properties: {
      specversion: A.specversion.json(ctx),
      id: A.id.json(ctx),
      source: A.source.json(ctx),
      type: A.type.json(ctx),
      time: A.time.json(ctx),
      subject: A.subject.json(ctx),
      datacontenttype: A.datacontenttype.json(ctx),
      traceparent: TRACEPARENT_SCHEMA,
      tracestate: TRACESTATE_SCHEMA,
      data: { type: 'object', description: 'The payload, a JSON object.' },
    },
    required: ['specversion', 'id', 'source', 'type', 'time', 'data'],
  }));
}

/** A context whose named schemas land in `$defs` of one self-contained document. */
function defsContext(): { ctx: JsonSchemaContext; defs: Record<string, JsonSchema> } {
  const defs: Record<string, JsonSchema> = {};
  const ctx: JsonSchemaContext = {
    ref(name, build) {
      if (!Object.hasOwn(defs, name)) {
        defs[name] = {}; // reserve first: stable order, no recursion
        defs[name] = build();
      }
      return { $ref: `#/$defs/${name}` };
    },
  };
  return { ctx, defs };
}

/** The file name of the schema of a CloudEvent type (`lms.lesson.completed.schema.json`). */
export const eventSchemaFile = (type: string): string => `${type}.schema.json`;

/** The output event's schema covers its three types; one file under this name. */
export const OUTPUT_EVENT_SCHEMA_FILE = 'lms.course_enrollment.schema.json';

function inputEventSchema(def: InputEventDefinition<unknown>): JsonSchema {
  const { ctx, defs } = defsContext();
  const envelope = cloudEventEnvelope(ctx);
  const data = def.data.json(ctx);
  return {
    $schema: JSON_SCHEMA_DIALECT,
    $id: eventSchemaFile(def.type),
    title: def.type,
    description: `${def.summary} Input event, structured mode (the Kafka message value). In binary mode the value is \`data\` alone: validate it against ${String(data.$ref)}.`,
    allOf: [envelope, { type: 'object', properties: { type: { const: def.type }, data } }],
    $defs: defs,
  };
}

function outputEventJsonSchema(): JsonSchema {
  const { ctx, defs } = defsContext();
  const root = outputEventSchema.json(ctx);
  return {
    $schema: JSON_SCHEMA_DIALECT,
    $id: OUTPUT_EVENT_SCHEMA_FILE,
    title: 'CourseEnrollments event (lms.course_enrollment.created, .updated, .deleted)',
    description:
      'Output event, structured mode: the Kafka message value on the CourseEnrollments topic, keyed by the enrollment id. `data.version` starts at 1 and grows by exactly 1 per key.',
    allOf: [root],
    $defs: defs,
  };
}

/** Every event's schema by file name: the input types in contract order, then the output event. */
export function buildEventJsonSchemas(): Record<string, JsonSchema> {
  const files: Record<string, JsonSchema> = {};
  for (const def of Object.values(INPUT_EVENTS) as InputEventDefinition<unknown>[]) files[eventSchemaFile(def.type)] = inputEventSchema(def);
  files[OUTPUT_EVENT_SCHEMA_FILE] = outputEventJsonSchema();
  return files;
}
