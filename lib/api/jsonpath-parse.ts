/**
 * The parser for kubectl's JSONPath templates (`-o jsonpath=…`, printer
 * columns, `wait --for=jsonpath=…`): text with `{…}` actions, each a list of
 * paths (`{.a,.b}`), a string literal (`{"\n"}`), `{range PATH}` or `{end}`.
 * A path starts at `$` (the root), `@` or nothing (the current value) and
 * goes on with `.field`, `.*`, `..` (recursive descent), `[n]`, `[s:e:step]`,
 * `[*]`, `['key']` (or `.key\.with\.dots`), unions `[0,2]` / `['a','b']` and filters
 * `[?(@.x == 'y')]` (==, !=, <, <=, >, >=, or `[?(@.x)]` for existence).
 * Anything else is a BadRequestError naming the template and the character
 * where parsing stopped.
 */
import { BadRequestError } from '../errors.js';

/** Segment is one step of a path. */
export type Segment =
  | { kind: 'field'; name: string }
  | { kind: 'wildcard' }
  | { kind: 'descend' }
  | { kind: 'index'; index: number }
  | { kind: 'slice'; start: number | undefined; end: number | undefined; step: number }
  | { kind: 'union'; keys: Array<string | number> }
  | { kind: 'filter'; filter: Filter };

/** PathExpr is a path from the root (`$`) or from the current value (`@`, or a leading `.`). */
export interface PathExpr {
  from: 'root' | 'current';
  segments: Segment[];
}

/** Literal is a constant in a filter. */
export type Literal = string | number | boolean | null;

/** Operand is one side of a filter comparison. */
export type Operand = { kind: 'path'; path: PathExpr } | { kind: 'literal'; value: Literal };

/** CompareOp is a filter comparison operator. */
export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';

/** Filter is the condition of `[?(…)]`: a comparison, or the existence of a path. */
export type Filter = { op: 'exists'; path: PathExpr } | { op: CompareOp; left: Operand; right: Operand };

/** TemplateNode is a part of a template: literal text, an action printing values, or a range block. */
export type TemplateNode =
  { kind: 'text'; text: string } | { kind: 'values'; paths: PathExpr[] } | { kind: 'range'; path: PathExpr; body: TemplateNode[] };

const OPS: readonly CompareOp[] = ['==', '!=', '<=', '>=', '<', '>'];
// Characters that end a field name: kubectl's terminators plus the filter operators and quotes.
const NAME_END = new Set([' ', '\t', '\n', '\r', '.', ',', '[', ']', '$', '@', '{', '}', '(', ')', '=', '!', '<', '>', "'", '"', '*']);
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', '\\': '\\', "'": "'", '"': '"', '/': '/' };

class Parser {
  pos: number;
  constructor(
    readonly src: string,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  fail(what: string, at = this.pos): never {
    throw new BadRequestError(`error parsing jsonpath ${JSON.stringify(this.src)}: ${what} at character ${at + 1}`);
  }

  peek(ahead = 0): string | undefined {
    const i = this.pos + ahead;
    return i < this.end ? this.src[i] : undefined;
  }

  eat(s: string): boolean {
    if (this.pos + s.length > this.end || !this.src.startsWith(s, this.pos)) return false;
    this.pos += s.length;
    return true;
  }

  expect(s: string, what: string): void {
    if (!this.eat(s)) this.fail(this.pos >= this.end ? `${what}: the expression ended` : `${what}, found "${this.peek()}"`);
  }

  space(): void {
    while (this.pos < this.end && /\s/.test(this.src[this.pos] as string)) this.pos++;
  }

  keyword(word: string): boolean {
    const after = this.src[this.pos + word.length];
    if (!this.src.startsWith(word, this.pos) || this.pos + word.length > this.end) return false;
    if (after !== undefined && this.pos + word.length < this.end && !NAME_END.has(after)) return false;
    this.pos += word.length;
    return true;
  }

  /** a field name; a backslash keeps the next character in it, as in `labels.app\.kubernetes\.io/name` */
  name(): string {
    let out = '';
    while (this.pos < this.end) {
      const c = this.src[this.pos] as string;
      if (c === '\\' && this.pos + 1 < this.end) {
        out += this.src[this.pos + 1] as string;
        this.pos += 2;
      } else if (NAME_END.has(c)) {
        break;
      } else {
        out += c;
        this.pos++;
      }
    }
    return out;
  }

  string(): string {
    const open = this.pos;
    const quote = this.src[this.pos++];
    let out = '';
    while (this.pos < this.end) {
      const c = this.src[this.pos++] as string;
      if (c === quote) return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.src[this.pos++];
      if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(this.src.slice(this.pos, this.pos + 4))) {
        out += String.fromCharCode(parseInt(this.src.slice(this.pos, this.pos + 4), 16));
        this.pos += 4;
      } else if (e !== undefined && ESCAPES[e] !== undefined) {
        out += ESCAPES[e];
      } else {
        this.fail(`unknown escape "\\${e ?? ''}" in a string`, this.pos - 2);
      }
    }
    return this.fail(`unterminated string`, open);
  }

  integer(): number | undefined {
    const m = /^-?\d+/.exec(this.src.slice(this.pos, this.end));
    if (!m) return undefined;
    this.pos += m[0].length;
    return Number(m[0]);
  }

  /** a path; with `bare`, a leading field name without a dot is accepted (printer columns, `wait`) */
  path(bare = false): PathExpr {
    const start = this.pos;
    let from: PathExpr['from'] = 'current';
    if (this.eat('$')) from = 'root';
    else this.eat('@');
    const segments: Segment[] = [];
    if (bare && this.pos === start) {
      const n = this.name();
      if (n !== '') segments.push({ kind: 'field', name: n });
    }
    for (;;) {
      const c = this.peek();
      if (c === '.' && this.peek(1) === '.') {
        this.pos += 2;
        segments.push({ kind: 'descend' });
        if (this.peek() === '[') continue;
        if (this.eat('*')) segments.push({ kind: 'wildcard' });
        else {
          const n = this.name();
          if (n === '') this.fail('expected a field name, "*" or "[" after ".."');
          segments.push({ kind: 'field', name: n });
        }
      } else if (c === '.') {
        this.pos++;
        if (this.eat('*')) segments.push({ kind: 'wildcard' });
        else {
          // `.` alone is the current value, as in `{.}`
          const n = this.name();
          if (n !== '') segments.push({ kind: 'field', name: n });
        }
      } else if (c === '[') {
        segments.push(this.bracket());
      } else {
        break;
      }
    }
    if (this.pos === start) this.fail('expected a path such as .metadata.name');
    return { from, segments };
  }

  bracket(): Segment {
    const open = this.pos++;
    this.space();
    if (this.pos >= this.end) this.fail('unclosed "["', open);
    let seg: Segment;
    if (this.eat('?')) {
      this.space();
      this.expect('(', 'expected "(" after "[?"');
      seg = { kind: 'filter', filter: this.filter() };
      this.space();
      this.expect(')', 'expected ")" to close the filter');
    } else if (this.eat('*')) {
      seg = { kind: 'wildcard' };
    } else {
      seg = this.selectors();
    }
    this.space();
    if (this.pos >= this.end) this.fail('unclosed "["', open);
    if (this.peek() !== ']') this.fail(`expected "]", found "${this.peek()}"`);
    this.pos++;
    return seg;
  }

  selectors(): Segment {
    const keys: Array<string | number> = [];
    for (;;) {
      this.space();
      const at = this.pos;
      const c = this.peek();
      if (c === "'" || c === '"') keys.push(this.string());
      else {
        const start = this.integer();
        this.space();
        if (this.peek() === ':') {
          if (keys.length > 0) this.fail('a slice cannot be part of a union', at);
          return this.slice(start);
        }
        if (start === undefined) this.fail('expected an index, a slice, "*", a quoted key or a filter');
        keys.push(start);
      }
      this.space();
      if (!this.eat(',')) break;
    }
    if (keys.length === 1) {
      const k = keys[0] as string | number;
      return typeof k === 'number' ? { kind: 'index', index: k } : { kind: 'field', name: k };
    }
    return { kind: 'union', keys };
  }

  slice(start: number | undefined): Segment {
    this.pos++; // the first ':'
    this.space();
    const end = this.integer();
    this.space();
    let step = 1;
    if (this.eat(':')) {
      this.space();
      const at = this.pos;
      const s = this.integer();
      if (s !== undefined && s <= 0) this.fail(s === 0 ? 'a slice step cannot be 0' : 'a negative slice step is not supported', at);
      step = s ?? 1;
    }
    return { kind: 'slice', start, end, step };
  }

  filter(): Filter {
    this.space();
    const left = this.operand();
    this.space();
    const op = OPS.find((o) => this.eat(o));
    if (op === undefined) {
      if (left.kind !== 'path') this.fail('expected a comparison operator (==, !=, <, <=, >, >=)');
      return { op: 'exists', path: left.path };
    }
    this.space();
    return { op, left, right: this.operand() };
  }

  operand(): Operand {
    const c = this.peek();
    if (c === "'" || c === '"') return { kind: 'literal', value: this.string() };
    const num = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(this.src.slice(this.pos, this.end));
    if (num) {
      this.pos += num[0].length;
      return { kind: 'literal', value: Number(num[0]) };
    }
    for (const [word, value] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (this.keyword(word)) return { kind: 'literal', value };
    }
    if (c === '@' || c === '$' || c === '.') return { kind: 'path', path: this.path() };
    return this.fail('expected @, $, a number, a quoted string, true, false or null in the filter');
  }

  /** an action's paths, up to `}` or the end: `.a`, `.a,.b` */
  pathList(bare: boolean): PathExpr[] {
    const paths: PathExpr[] = [];
    do {
      this.space();
      paths.push(this.path(bare));
      this.space();
    } while (this.eat(','));
    return paths;
  }

  template(): TemplateNode[] {
    const top: TemplateNode[] = [];
    const open: Array<{ body: TemplateNode[]; at: number }> = [];
    let nodes = top;
    while (this.pos < this.end) {
      const brace = this.src.indexOf('{', this.pos);
      if (brace < 0 || brace >= this.end) {
        nodes.push({ kind: 'text', text: this.src.slice(this.pos, this.end) });
        break;
      }
      if (brace > this.pos) nodes.push({ kind: 'text', text: this.src.slice(this.pos, brace) });
      this.pos = brace + 1;
      this.space();
      const c = this.peek();
      if (this.keyword('range')) {
        this.space();
        const node: TemplateNode = { kind: 'range', path: this.path(), body: [] };
        nodes.push(node);
        open.push({ body: nodes, at: brace });
        nodes = node.body;
      } else if (this.keyword('end')) {
        const outer = open.pop();
        if (!outer) this.fail('{end} without a matching {range}', brace);
        nodes = outer.body;
      } else if (c === '"' || c === "'") {
        nodes.push({ kind: 'text', text: this.string() });
      } else if (c === '}') {
        this.fail('empty action "{}"', brace);
      } else {
        nodes.push({ kind: 'values', paths: this.pathList(false) });
      }
      this.space();
      if (this.pos >= this.end) this.fail('unclosed action "{"', brace);
      if (!this.eat('}')) this.fail(`unexpected "${this.peek()}"`);
    }
    const unclosed = open.pop();
    if (unclosed) this.fail('{range} without a matching {end}', unclosed.at);
    return top;
  }
}

/** parseTemplate parses a JSONPath template (`{.items[*].metadata.name}`, `{range .items[*]}{.a}{"\n"}{end}`). */
export function parseTemplate(template: string): TemplateNode[] {
  return new Parser(template, 0, template.length).template();
}

/**
 * parseRelaxedPaths parses a path as printer columns and `wait` write it:
 * `.a.b`, `{.a.b}`, `$.a`, `a.b` or a list `.a,.b`, with nothing around it.
 */
export function parseRelaxedPaths(path: string): PathExpr[] {
  let start = 0;
  let end = path.length;
  while (start < end && /\s/.test(path[start] as string)) start++;
  while (end > start && /\s/.test(path[end - 1] as string)) end--;
  if (path[start] === '{' && path[end - 1] === '}') {
    start++;
    end--;
  }
  const p = new Parser(path, start, end);
  const paths = p.pathList(true);
  if (p.pos < end) p.fail(`unexpected "${p.peek()}"`);
  return paths;
}
