/**
 * Import type checking (the spec's "import matching"), with wazero's LinkError texts.
 */
import { LinkError } from '../api/errors.js';
import { externKindName, valueTypeName } from '../api/value-type.js';
import type { FuncType, Import, Limits } from '../binary/module.js';
import type { ExternValue } from './engine.js';

/** wazero's signature key: params (or `v`), `_`, results (or `v`), e.g. `i32i64_f32`. */
export function signatureKey(t: FuncType): string {
  const p = t.params.length === 0 ? 'v' : t.params.map(valueTypeName).join('');
  const r = t.results.length === 0 ? 'v' : t.results.map(valueTypeName).join('');
  return `${p}_${r}`;
}

export function sameFuncType(a: FuncType, b: FuncType): boolean {
  if (a.params.length !== b.params.length || a.results.length !== b.results.length) return false;
  for (let i = 0; i < a.params.length; i++) if (a.params[i] !== b.params[i]) return false;
  for (let i = 0; i < a.results.length; i++) if (a.results[i] !== b.results[i]) return false;
  return true;
}

function limitsMatch(actualMin: number, actualMax: number | undefined, want: Limits): string | undefined {
  if (actualMin < want.min) return `minimum size mismatch: ${want.min} > ${actualMin}`;
  if (want.max !== undefined) {
    if (actualMax === undefined) return `maximum size mismatch: ${want.max}, but actual has no max`;
    if (actualMax > want.max) return `maximum size mismatch: ${want.max} < ${actualMax}`;
  }
  return undefined;
}

/**
 * Checks `value` against the import's declared type.
 * @throws LinkError naming the import and the mismatch.
 */
export function checkImport(imp: Import, value: ExternValue, types: readonly FuncType[]): void {
  const where = `import ${externKindName(imp.desc.kind)}[${imp.module}.${imp.name}]`;
  if (value.kind !== imp.desc.kind) {
    throw new LinkError(`${where}: incompatible import type: export is a ${externKindName(value.kind)}`);
  }
  switch (imp.desc.kind) {
    case 0: {
      const want = types[imp.desc.typeIndex]!;
      const got = (value.value as { type: FuncType }).type;
      if (!sameFuncType(want, got)) throw new LinkError(`${where}: signature mismatch: ${signatureKey(want)} != ${signatureKey(got)}`);
      return;
    }
    case 1: {
      const t = value.kind === 1 ? value.value : undefined;
      if (t === undefined) return;
      if ((t.is64 === true) !== (imp.desc.table.limits.is64 === true)) {
        throw new LinkError(`${where}: incompatible import type: index type mismatch`);
      }
      if (t.elemType !== imp.desc.table.elemType) {
        throw new LinkError(`${where}: element type mismatch: ${valueTypeName(imp.desc.table.elemType)} != ${valueTypeName(t.elemType)}`);
      }
      const err = limitsMatch(t.size(), t.max, imp.desc.table.limits);
      if (err !== undefined) throw new LinkError(`${where}: ${err}`);
      return;
    }
    case 2: {
      const m = value.kind === 2 ? value.value : undefined;
      if (m === undefined) return;
      if (m.shared !== imp.desc.memory.limits.shared) throw new LinkError(`${where}: shared mismatch`);
      if ((m.is64 === true) !== (imp.desc.memory.limits.is64 === true)) {
        throw new LinkError(`${where}: incompatible import type: index type mismatch`);
      }
      const err = limitsMatch(m.pages(), m.max, imp.desc.memory.limits);
      if (err !== undefined) throw new LinkError(`${where}: ${err}`);
      return;
    }
    case 3: {
      const g = value.kind === 3 ? value.value : undefined;
      if (g === undefined) return;
      const want = imp.desc.global;
      if (g.type.valType !== want.valType || g.type.mutable !== want.mutable) {
        const fmt = (t: { valType: number; mutable: boolean }): string => `${t.mutable ? 'mut ' : ''}${valueTypeName(t.valType)}`;
        throw new LinkError(`${where}: type mismatch: ${fmt(want)} != ${fmt(g.type)}`);
      }
      return;
    }
    case 4: {
      const t = value.kind === 4 ? value.value : undefined;
      if (t === undefined) return;
      const want = types[imp.desc.tag.typeIndex]!;
      if (!sameFuncType(want, t.type)) {
        throw new LinkError(`${where}: incompatible import type: tag type mismatch: ${signatureKey(want)} != ${signatureKey(t.type)}`);
      }
      return;
    }
  }
}

/**
 * An import in readable types, as wasm stack traces print functions: `env.log(i32)`,
 * `env.now() i64`, `env.pair(i32) (i32,f64)`, `env.memory: memory 1..16 pages`, `env.g: global mut i32`.
 */
export function describeImport(imp: Import, types: readonly FuncType[]): string {
  const name = `${imp.module}.${imp.name}`;
  const d = imp.desc;
  switch (d.kind) {
    case 0: {
      const t = types[d.typeIndex] ?? { params: [], results: [] };
      const results = t.results.map(valueTypeName);
      const r = results.length === 0 ? '' : results.length === 1 ? ` ${results[0]}` : ` (${results.join(',')})`;
      return `${name}(${t.params.map(valueTypeName).join(',')})${r}`;
    }
    case 1:
      return `${name}: table ${valueTypeName(d.table.elemType)} ${limitsText(d.table.limits, 'elements')}`;
    case 2:
      return `${name}: ${d.memory.limits.shared ? 'shared ' : ''}memory ${limitsText(d.memory.limits, 'pages')}`;
    case 3:
      return `${name}: global ${d.global.mutable ? 'mut ' : ''}${valueTypeName(d.global.valType)}`;
    case 4: {
      const t = types[d.tag.typeIndex] ?? { params: [], results: [] };
      return `${name}: tag (${t.params.map(valueTypeName).join(',')})`;
    }
  }
}

function limitsText(l: Limits, unit: string): string {
  const i64 = l.is64 === true ? 'i64 ' : '';
  return l.max === undefined ? `${i64}${l.min}.. ${unit}` : `${i64}${l.min}..${l.max} ${unit}`;
}

/**
 * wazero's `module[X] not instantiated`, followed by every import of the module from `X` in
 * readable types, so the reader knows what to provide.
 */
export function moduleNotInstantiated(moduleName: string, imports: readonly Import[], types: readonly FuncType[]): LinkError {
  const wanted = imports.filter((i) => i.module === moduleName).map((i) => `\n\t${describeImport(i, types)}`);
  return new LinkError(`module[${moduleName}] not instantiated; the module imports from it:${wanted.join('')}`);
}
