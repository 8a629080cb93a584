/**
 * Where interrupt checks go (`withCloseOnContextDone`), decided once for both engines: at every loop
 * head, and at the entry of the functions {@link entryCheckedBodies} names. The engines then check
 * the context's deadline, signal and interrupt flag there (store/hooks.ts `contextDoneExitCode`).
 */
import type { Module } from '../binary/module.js';
import { nextInstr, readLeb } from '../binary/instr.js';

/**
 * Per defined function: 1 when every call cycle through it must be interrupted at its entry. A
 * loop-free guest can only run endlessly around a cycle of calls, and every such cycle passes a
 * function that is in a cycle of direct calls (`call`, `return_call`; a strongly connected
 * component of the call graph, or calling itself), or that calls through a table
 * (`call_indirect`, `return_call_indirect`), or that calls an import (a host function may call back
 * into the guest). Functions that are none of these (helpers called from loops, leaves) need no
 * check, so the hot small functions of real programs keep V8's speed.
 */
export function entryCheckedBodies(m: Module): Uint8Array {
  const n = m.codes.length;
  const nImp = m.numImportedFuncs;
  const out = new Uint8Array(n);
  // Direct-call edges between defined functions, as adjacency lists in one array.
  const edgeStart = new Int32Array(n + 1);
  const edges: number[] = [];
  const op = new Int32Array(1);
  const bytes = m.bytes;
  for (let i = 0; i < n; i++) {
    edgeStart[i] = edges.length;
    const body = m.codes[i]!;
    let p = body.codeStart;
    while (p < body.codeEnd) {
      const at = p;
      p = nextInstr(bytes, p, op);
      const code = op[0]!;
      if (code === 0x10 || code === 0x12) {
        const target = readLeb(bytes, at + 1);
        if (target < nImp) out[i] = 1;
        else edges.push(target - nImp);
      } else if (code === 0x11 || code === 0x13) {
        out[i] = 1;
      }
    }
  }
  edgeStart[n] = edges.length;
  // Tarjan's strongly connected components, iteratively (call graphs can be deep).
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  const work: number[] = []; // pairs (node, next edge position)
  let counter = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    work.push(root, edgeStart[root]!);
    index[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    while (work.length > 0) {
      const v = work[work.length - 2]!;
      const e = work[work.length - 1]!;
      if (e < edgeStart[v + 1]!) {
        work[work.length - 1] = e + 1;
        const w = edges[e]!;
        if (w === v) out[v] = 1;
        if (index[w] === -1) {
          index[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = 1;
          work.push(w, edgeStart[w]!);
        } else if (onStack[w] === 1 && index[w]! < low[v]!) {
          low[v] = index[w]!;
        }
        continue;
      }
      work.length -= 2;
      if (work.length > 0) {
        const parent = work[work.length - 2]!;
        if (low[v]! < low[parent]!) low[parent] = low[v]!;
      }
      if (low[v] === index[v]) {
        // The component is the stack above v; more than one member means a cycle through each.
        const first = stack.lastIndexOf(v);
        const cyclic = stack.length - first > 1;
        for (let k = first; k < stack.length; k++) {
          const w = stack[k]!;
          onStack[w] = 0;
          if (cyclic) out[w] = 1;
        }
        stack.length = first;
      }
    }
  }
  return out;
}
