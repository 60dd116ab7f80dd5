/**
 * Kubernetes label and field selectors: parsing (BadRequestError on bad
 * syntax) and matching. Shared by the stores' list and watch, by the API
 * and by the scheduler (placement.memberSelector).
 */
import { BadRequestError } from '../errors.js';
import type { KindInfo } from '../kinds/registry.js';
import type { LabelSelector } from '../kinds/types.js';
import type { KubeObject } from './types.js';

/** LabelOperator is one requirement operator of a label selector. */
export type LabelOperator = 'Exists' | 'DoesNotExist' | 'Equals' | 'NotEquals' | 'In' | 'NotIn';

/** LabelRequirement is one comma-separated term: `key`, `!key`, `key=v`, `key!=v`, `key in (a,b)`, `key notin (a,b)`. */
export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

/** LabelMatcher is a parsed label selector; no requirements matches everything. */
export interface LabelMatcher {
  requirements: LabelRequirement[];
}

type Token = { kind: 'word'; text: string } | { kind: 'op'; text: '!' | '=' | '==' | '!=' | '(' | ')' | ',' };

const WORD = /[A-Za-z0-9_.\-/]/;
const KEY_RE = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const VALUE_RE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

function lex(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i] as string;
    if (c === ' ' || c === '\t') {
      i++;
    } else if (c === '!' && input[i + 1] === '=') {
      tokens.push({ kind: 'op', text: '!=' });
      i += 2;
    } else if (c === '=' && input[i + 1] === '=') {
      tokens.push({ kind: 'op', text: '==' });
      i += 2;
    } else if (c === '!' || c === '=' || c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: 'op', text: c });
      i++;
    } else if (WORD.test(c)) {
      let j = i;
      while (j < input.length && WORD.test(input[j] as string)) j++;
      tokens.push({ kind: 'word', text: input.slice(i, j) });
      i = j;
    } else {
      throw new BadRequestError(`unable to parse requirement: invalid character "${c}" in selector "${input}"`);
    }
  }
  return tokens;
}

function checkKey(key: string, selector: string): string {
  if (key.length > 316 || !KEY_RE.test(key))
    throw new BadRequestError(`unable to parse requirement: invalid label key "${key}" in selector "${selector}"`);
  return key;
}

function checkValue(value: string, selector: string): string {
  if (value.length > 63 || !VALUE_RE.test(value))
    throw new BadRequestError(`unable to parse requirement: invalid label value "${value}" in selector "${selector}"`);
  return value;
}

/** parseLabelSelector parses Kubernetes label selector syntax; throws BadRequestError on bad syntax. */
export function parseLabelSelector(selector: string | undefined): LabelMatcher {
  if (selector === undefined || selector.trim() === '') return { requirements: [] };
  const tokens = lex(selector);
  const requirements: LabelRequirement[] = [];
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const bad = (why: string): never => {
    throw new BadRequestError(`unable to parse requirement: ${why} in selector "${selector}"`);
  };
  const word = (what: string): string => {
    const t = tokens[pos];
    if (t?.kind !== 'word') return bad(`expected ${what}`);
    pos++;
    return t.text;
  };
  for (;;) {
    const t = peek();
    if (t?.kind === 'op' && t.text === '!') {
      pos++;
      requirements.push({ key: checkKey(word('a label key after "!"'), selector), operator: 'DoesNotExist', values: [] });
    } else {
      const key = checkKey(word('a label key'), selector);
      const op = peek();
      if (op === undefined || (op.kind === 'op' && op.text === ',')) {
        requirements.push({ key, operator: 'Exists', values: [] });
      } else if (op.kind === 'op' && (op.text === '=' || op.text === '==' || op.text === '!=')) {
        pos++;
        const next = peek();
        const value = next?.kind === 'word' ? word('a value') : '';
        requirements.push({ key, operator: op.text === '!=' ? 'NotEquals' : 'Equals', values: [checkValue(value, selector)] });
      } else if (op.kind === 'word' && (op.text === 'in' || op.text === 'notin')) {
        pos++;
        if (peek()?.text !== '(') bad(`expected "(" after ${op.text}`);
        pos++;
        const values: string[] = [];
        for (;;) {
          const v = peek();
          if (v?.kind === 'word') {
            values.push(checkValue(v.text, selector));
            pos++;
          } else if (v?.text === ',' || v?.text === ')') {
            values.push('');
          } else {
            bad('expected a value or ")"');
          }
          const sep = peek();
          pos++;
          if (sep?.text === ')') break;
          if (sep?.text !== ',') bad('expected "," or ")"');
        }
        requirements.push({ key, operator: op.text === 'in' ? 'In' : 'NotIn', values });
      } else {
        bad(`unexpected "${op.text}" after key "${key}"`);
      }
    }
    const sep = peek();
    if (sep === undefined) break;
    if (sep.text !== ',') bad(`expected "," but found "${sep.text}"`);
    pos++;
  }
  return { requirements };
}

/** matchesLabels tells whether `labels` satisfy every requirement of `matcher`. */
export function matchesLabels(matcher: LabelMatcher, labels: Record<string, string> | undefined): boolean {
  const ls = labels ?? {};
  return matcher.requirements.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(ls, r.key);
    const value = ls[r.key];
    switch (r.operator) {
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      case 'Equals':
      case 'In':
        return has && r.values.includes(value as string);
      case 'NotEquals':
      case 'NotIn':
        return !has || !r.values.includes(value as string);
    }
  });
}

/** labelMatcherFromSelector turns a LabelSelector object (matchLabels, matchExpressions) into a LabelMatcher. */
export function labelMatcherFromSelector(selector: LabelSelector | undefined): LabelMatcher {
  const requirements: LabelRequirement[] = [];
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) requirements.push({ key, operator: 'Equals', values: [value] });
  for (const e of selector?.matchExpressions ?? []) requirements.push({ key: e.key, operator: e.operator, values: e.values ?? [] });
  return { requirements };
}

/** FieldRequirement is one `field=value`, `field==value` or `field!=value` term. */
export interface FieldRequirement {
  field: string;
  operator: 'Equals' | 'NotEquals';
  value: string;
}

/** FieldMatcher is a parsed field selector; no requirements matches everything. */
export interface FieldMatcher {
  requirements: FieldRequirement[];
}

/** DEFAULT_FIELDS are the fields every kind can be selected by. */
export const DEFAULT_FIELDS = ['metadata.name', 'metadata.namespace'] as const;

const EVENT_FIELDS = [
  'involvedObject.kind',
  'involvedObject.namespace',
  'involvedObject.name',
  'involvedObject.uid',
  'involvedObject.apiVersion',
  'reason',
  'type',
  'source.component',
  'reportingComponent',
];

/** supportedFields lists the selectable fields of `kind`: metadata.name/namespace, plus Event's involvedObject.*, reason, type. */
export function supportedFields(kind: KindInfo): string[] {
  return kind.group === '' && kind.kind === 'Event' ? [...DEFAULT_FIELDS, ...EVENT_FIELDS] : [...DEFAULT_FIELDS];
}

/** parseFieldSelector parses `a=b,c!=d` over `fields` (default metadata.name, metadata.namespace); BadRequestError otherwise. */
export function parseFieldSelector(selector: string | undefined, fields: readonly string[] = DEFAULT_FIELDS): FieldMatcher {
  if (selector === undefined || selector.trim() === '') return { requirements: [] };
  const requirements = selector.split(',').map((term): FieldRequirement => {
    const m = /^\s*([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*?)\s*$/.exec(term);
    if (!m) throw new BadRequestError(`invalid selector: '${selector}'; can't understand '${term}'`);
    const [, field = '', op, value = ''] = m;
    if (!fields.includes(field)) throw new BadRequestError(`field label not supported: ${field}`);
    return { field, operator: op === '!=' ? 'NotEquals' : 'Equals', value };
  });
  return { requirements };
}

function fieldValue(obj: KubeObject, path: string): string {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return '';
    cur = (cur as Record<string, unknown>)[part];
  }
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'string' ? cur : JSON.stringify(cur);
}

/** matchesFields tells whether `obj` satisfies every requirement of `matcher` (missing fields read as ''). */
export function matchesFields(matcher: FieldMatcher, obj: KubeObject): boolean {
  return matcher.requirements.every((r) => (fieldValue(obj, r.field) === r.value) === (r.operator === 'Equals'));
}
