/**
 * lib/json-schema-form.ts on its own (no browser, no daemon): the fields a workflow's input schema
 * becomes, the values its defaults fill in, the input read back with what a form can refuse at a
 * field, and the daemon's issue paths moved to the fields that show them.
 */
import { expect, test } from '@playwright/test';
import { fieldPaths, formOf, inputOf, initialValues, placeIssues } from '../lib/json-schema-form';

const schema = {
  type: 'object',
  required: ['topic', 'files'],
  properties: {
    topic: { type: 'string', title: 'Topic', description: 'What the digest is about', pattern: '^[a-z-]+$' },
    tone: { enum: ['brief', 'thorough'], default: 'brief' },
    rounds: { type: 'integer', minimum: 1, maximum: 5, default: 2 },
    review: { type: 'boolean' },
    files: { type: 'array', items: { type: 'string' }, minItems: 1 },
    limits: { type: 'object', properties: { ratio: { $ref: '#/$defs/ratio' } } },
    either: { oneOf: [{ type: 'string' }, { type: 'number' }] },
    people: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } },
  },
  $defs: { ratio: { type: 'number', exclusiveMinimum: 0, maximum: 1 } },
};

test('an object schema: one field per property, the kinds a form can show, JSON for the rest', () => {
  const form = formOf(schema);
  expect(form.kind).toBe('group');
  const kinds = form.kind === 'group' ? form.fields.map((f) => [f.path, f.kind, f.required]) : [];
  expect(kinds).toEqual([
    ['input.topic', 'text', true],
    ['input.tone', 'choice', false],
    ['input.rounds', 'number', false],
    ['input.review', 'boolean', false],
    ['input.files', 'list', true],
    ['input.limits', 'group', false],
    ['input.either', 'json', false],
    ['input.people', 'json', false],
  ]);
  expect(fieldPaths(form)).toContain('input.limits.ratio');
  expect(initialValues(form)).toEqual({ 'input.tone': '0', 'input.rounds': '2', 'input.review': false });
});

test('the input read back: empty optional fields left out, required ones and bounds refused at their field', () => {
  const form = formOf(schema);
  const empty = inputOf(form, initialValues(form));
  expect(empty.issues).toEqual({ 'input.topic': ['is required'], 'input.files': ['needs at least 1 item'] });

  const values = { ...initialValues(form), 'input.topic': 'notes', 'input.files': 'a.ts\n\n b.ts \n', 'input.rounds': '9', 'input.limits.ratio': '0' };
  expect(inputOf(form, values).issues).toEqual({ 'input.rounds': ['must be 5 or less'], 'input.limits.ratio': ['must be more than 0'] });

  const fine = inputOf(form, { ...values, 'input.rounds': '3', 'input.limits.ratio': '', 'input.either': '7', 'input.review': true });
  expect(fine).toEqual({ value: { topic: 'notes', tone: 'brief', rounds: 3, review: true, files: ['a.ts', 'b.ts'], either: 7 }, issues: {} });
  expect(inputOf(form, { ...values, 'input.rounds': '3', 'input.limits.ratio': '', 'input.people': '[{' }).issues['input.people']?.[0]).toMatch(/^is not JSON: /);
});

test('no schema, or one that is not an object of fields: one JSON field for the whole input, empty meaning none', () => {
  for (const s of [null, { type: 'array', items: { type: 'string' } }, { oneOf: [{ type: 'object' }] }]) {
    const form = formOf(s);
    expect(form).toMatchObject({ kind: 'json', path: 'input' });
    expect(inputOf(form, {})).toEqual({ value: undefined, issues: {} });
    expect(inputOf(form, { input: '["a"]' })).toEqual({ value: ['a'], issues: {} });
  }
});

test("the daemon's issue paths land at the field that shows them", () => {
  const placed = placeIssues(
    { 'input.files.1': ['Invalid input: expected string'], 'input.topic': ['Invalid string'], 'input.people.0.name': ['Required'], 'input.extra': ['Unknown key'], workflow: ['no'] },
    formOf(schema),
  );
  expect(placed).toEqual({
    'input.files': ['item 2: Invalid input: expected string'],
    'input.topic': ['Invalid string'],
    'input.people': ['0.name: Required'],
    input: ['extra: Unknown key'],
    workflow: ['no'],
  });
});
