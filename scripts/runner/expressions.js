/**
 * GitHub Actions expressions (`${{ … }}`), evaluated the way the runner does, for the local runner and the
 * workflow-expansion tests: literals, property paths (`inputs.x`, `needs.a.outputs['b-c']`, `github.event.*`),
 * `!`, `==`, `!=`, `<`, `<=`, `>`, `>=`, `&&`, `||` (which return an operand, not a boolean), parentheses, and the
 * functions contains, startsWith, endsWith, format, join, toJSON, fromJSON, success, failure, always, cancelled.
 * A property that does not exist is null, as on GitHub; an unknown function or a syntax error throws.
 */

/** @typedef {Record<string, unknown>} Context */

const TOKEN =
  /\s*(?:(?<num>-?(?:0x[0-9a-f]+|\d+(?:\.\d+)?(?:e[+-]?\d+)?))|'(?<str>(?:[^']|'')*)'|(?<op>==|!=|<=|>=|&&|\|\||[!<>()[\].,*])|(?<id>[A-Za-z_][A-Za-z0-9_-]*))/iy;

/** @param {string} text */
function tokenize(text) {
  /** @type {Array<{ kind: 'num' | 'str' | 'op' | 'id', value: string }>} */
  const tokens = [];
  TOKEN.lastIndex = 0;
  let at = 0;
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break;
    TOKEN.lastIndex = at;
    const m = TOKEN.exec(text);
    if (!m || !m.groups) throw new Error(`expression '${text}': unexpected text at '${text.slice(at)}'`);
    const g = m.groups;
    if (g.num !== undefined) tokens.push({ kind: 'num', value: g.num });
    else if (g.str !== undefined) tokens.push({ kind: 'str', value: g.str.replace(/''/g, "'") });
    else if (g.op !== undefined) tokens.push({ kind: 'op', value: g.op });
    else tokens.push({ kind: 'id', value: /** @type {string} */ (g.id) });
    at = TOKEN.lastIndex;
  }
  return tokens;
}

/** Truthiness as GitHub defines it: false, 0, -0, '', null and NaN are false. */
export function truthy(value) {
  if (value === null || value === undefined) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0 && !Number.isNaN(value);
  if (typeof value === 'string') return value !== '';
  return true;
}

function toNumber(value) {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return value.trim() === '' ? 0 : Number(value);
  return NaN;
}

/** Loose equality: strings compare case-insensitively; mixed types compare as numbers. */
function equal(a, b) {
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase() === b.toLowerCase();
  if (typeof a === typeof b && (typeof a !== 'object' || a === null)) return a === b;
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) return a === b;
  return toNumber(a) === toNumber(b);
}

function compare(a, b) {
  if (typeof a === 'string' && typeof b === 'string') {
    const x = a.toLowerCase();
    const y = b.toLowerCase();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const x = toNumber(a);
  const y = toNumber(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** How a value becomes text inside a string (`format`, interpolation, an input): objects as JSON. */
export function toText(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value, null, 2);
  return String(value);
}

const FILTERED = Symbol('object filter');

/** The result of `.*` (an object filter): a later `.name` picks that property of each item (`needs.*.result`). */
function filtered(items) {
  return Object.assign([...items], { [FILTERED]: true });
}

function isFiltered(value) {
  return Array.isArray(value) && value[FILTERED] === true;
}

function property(target, key) {
  if (target === null || target === undefined || typeof target !== 'object') return null;
  if (Array.isArray(target) && /^\d+$/.test(String(key))) return target[Number(key)] ?? null;
  const own = Object.keys(target).find((k) => k.toLowerCase() === String(key).toLowerCase());
  return own === undefined ? null : target[own];
}

const FUNCTIONS = {
  contains(haystack, needle) {
    if (Array.isArray(haystack)) return haystack.some((item) => equal(item, needle));
    return toText(haystack).toLowerCase().includes(toText(needle).toLowerCase());
  },
  startswith: (s, p) => toText(s).toLowerCase().startsWith(toText(p).toLowerCase()),
  endswith: (s, p) => toText(s).toLowerCase().endsWith(toText(p).toLowerCase()),
  format(template, ...args) {
    return toText(template).replace(/\{\{|\}\}|\{(\d+)\}/g, (m, i) =>
      m === '{{' ? '{' : m === '}}' ? '}' : toText(args[Number(i)]),
    );
  },
  join: (items, sep = ',') => (Array.isArray(items) ? items.map(toText).join(toText(sep)) : toText(items)),
  tojson: (value) => JSON.stringify(value ?? null, null, 2),
  fromjson: (text) => JSON.parse(toText(text)),
};

/**
 * Evaluates one expression (the text between `${{` and `}}`).
 * @param {string} text
 * @param {Context} context named objects (inputs, secrets, github, needs, steps, env, vars, …); `status` may be
 *   'success' (default), 'failure' or 'cancelled' for the status functions
 */
export function evaluate(text, context) {
  const tokens = tokenize(text);
  let i = 0;
  const peek = () => tokens[i];
  const take = (value) => {
    const t = tokens[i];
    if (!t || (value !== undefined && t.value !== value)) {
      throw new Error(`expression '${text}': expected ${value ?? 'more'} at token ${i + 1}`);
    }
    i++;
    return t;
  };
  const isOp = (value) => peek()?.kind === 'op' && peek()?.value === value;

  function orExpr() {
    let left = andExpr();
    while (isOp('||')) {
      take();
      const right = andExpr();
      left = truthy(left) ? left : right;
    }
    return left;
  }
  function andExpr() {
    let left = equality();
    while (isOp('&&')) {
      take();
      const right = equality();
      left = truthy(left) ? right : left;
    }
    return left;
  }
  function equality() {
    let left = relation();
    while (isOp('==') || isOp('!=')) {
      const op = take().value;
      const right = relation();
      left = op === '==' ? equal(left, right) : !equal(left, right);
    }
    return left;
  }
  function relation() {
    let left = unary();
    while (isOp('<') || isOp('<=') || isOp('>') || isOp('>=')) {
      const op = take().value;
      const c = compare(left, unary());
      left = op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
    }
    return left;
  }
  function unary() {
    if (isOp('!')) {
      take();
      return !truthy(unary());
    }
    return postfix(primary());
  }
  function postfix(value) {
    for (;;) {
      if (isOp('.')) {
        take();
        const t = take();
        if (t.value === '*') value = filtered(Array.isArray(value) ? value : Object.values(value ?? {}));
        else if (isFiltered(value))
          value = filtered(value.map((item) => property(item, t.value)).filter((v) => v !== null));
        else value = property(value, t.value);
      } else if (isOp('[')) {
        take();
        const key = orExpr();
        take(']');
        value = property(value, toText(key));
      } else return value;
    }
  }
  function primary() {
    const t = take();
    if (t.kind === 'num') return Number(t.value);
    if (t.kind === 'str') return t.value;
    if (t.kind === 'op' && t.value === '(') {
      const v = orExpr();
      take(')');
      return v;
    }
    if (t.kind !== 'id') throw new Error(`expression '${text}': unexpected '${t.value}'`);
    const name = t.value.toLowerCase();
    if (name === 'true') return true;
    if (name === 'false') return false;
    if (name === 'null') return null;
    if (isOp('(')) {
      take();
      const args = [];
      while (!isOp(')')) {
        args.push(orExpr());
        if (isOp(',')) take();
        else break;
      }
      take(')');
      return call(name, args);
    }
    return property(context, t.value);
  }
  function call(name, args) {
    const status = toText(context.status || 'success');
    if (name === 'success') return status === 'success';
    if (name === 'failure') return status === 'failure';
    if (name === 'cancelled') return status === 'cancelled';
    if (name === 'always') return true;
    const fn = FUNCTIONS[name];
    if (!fn) throw new Error(`expression '${text}': unknown function ${name}()`);
    return fn(...args);
  }

  const value = orExpr();
  if (i !== tokens.length) throw new Error(`expression '${text}': unexpected '${tokens[i]?.value}'`);
  return value;
}

const EMBEDDED = /\$\{\{([\s\S]*?)\}\}/g;

/**
 * A value that may hold `${{ … }}`: a string that is one expression alone gives the expression's value (a
 * boolean, a number, an object); any other string is interpolated as text. Non-strings come back as they are.
 * @param {unknown} value
 * @param {Context} context
 */
export function interpolate(value, context) {
  if (typeof value !== 'string') return value;
  const whole = /^\s*\$\{\{([\s\S]*?)\}\}\s*$/.exec(value);
  if (whole && !whole[1].includes('}}')) return evaluate(/** @type {string} */ (whole[1]), context);
  return value.replace(EMBEDDED, (_m, expr) => toText(evaluate(expr, context)));
}

/** `if:` conditions: a bare expression without `${{ }}` too, and status defaults to success(). */
export function condition(value, context) {
  if (value === undefined || value === null || value === '') return toText(context.status || 'success') === 'success';
  if (typeof value === 'boolean') return value;
  const text = String(value).trim();
  const expr = /^\$\{\{([\s\S]*)\}\}$/.exec(text)?.[1] ?? text;
  const usesStatus = /\b(success|failure|always|cancelled)\s*\(/i.test(expr);
  const result = truthy(evaluate(expr, context));
  return usesStatus ? result : result && toText(context.status || 'success') === 'success';
}
