/**
 * Flame graphs without extra tools: a {@link StackProfile} drawn as a self-contained SVG (callers at
 * the bottom, callees above, widths in proportion to a sample value, a tooltip per frame) or as an
 * HTML page holding that SVG with click-to-zoom and search. Stacks are merged by function from the
 * root; frames narrower than a pixel's tenth are left out.
 */
import type { StackProfile } from './profile.js';

/**
 * Options of {@link flameGraphSvg} and {@link flameGraphHtml}.
 * @experimental
 */
export interface FlameGraphOptions {
  /** The sample value drawn (a `type` of the profile's sample types). @defaultValue the profile's default sample type */
  readonly sampleType?: string;
  /** The title above the graph. @defaultValue `'Flame graph'` */
  readonly title?: string;
  /** Width in pixels. @defaultValue 1200 */
  readonly width?: number;
}

interface Node {
  readonly name: string;
  readonly detail: string;
  readonly host: boolean;
  value: number;
  self: number;
  readonly children: Map<string, Node>;
}

interface Box {
  readonly node: Node;
  readonly depth: number;
  /** Start and end as fractions of the root's value. */
  readonly start: number;
  readonly end: number;
}

const FRAME_H = 17;
const PAD_TOP = 48;
const PAD_SIDE = 10;
const CHAR_W = 7;

/** Builds the call tree of `profile` for sample value `index`. */
function tree(profile: StackProfile, index: number): Node {
  const root: Node = { name: 'all', detail: '', host: false, value: 0, self: 0, children: new Map() };
  for (const s of profile.samples) {
    const v = s.values[index] ?? 0;
    if (v <= 0) continue;
    root.value += v;
    let n = root;
    for (let i = s.stack.length - 1; i >= 0; i--) {
      const f = s.stack[i]!;
      const name = f.host && f.module !== '' ? `${f.module}.${f.function}` : f.function;
      let c = n.children.get(name);
      if (c === undefined) {
        const where = f.file === '' ? '' : `${f.file}${f.startLine > 0 ? `:${f.startLine}` : ''}`;
        c = { name, detail: where, host: f.host, value: 0, self: 0, children: new Map() };
        n.children.set(name, c);
      }
      c.value += v;
      n = c;
    }
    n.self += v;
  }
  return root;
}

/** Every frame to draw, parents before children, left to right by decreasing value. */
function boxes(root: Node, minFraction: number): Box[] {
  const out: Box[] = [];
  if (root.value <= 0) return out;
  const visit = (n: Node, depth: number, start: number): void => {
    const end = start + n.value / root.value;
    out.push({ node: n, depth, start, end });
    let x = start;
    const kids = [...n.children.values()].sort((a, b) => b.value - a.value || (a.name < b.name ? -1 : 1));
    for (const c of kids) {
      const w = c.value / root.value;
      if (w >= minFraction) visit(c, depth + 1, x);
      x += w;
    }
  };
  visit(root, 0, 0);
  return out;
}

/** A value in its unit, for people. */
export function formatValue(v: number, unit: string): string {
  if (unit === 'nanoseconds') {
    if (v >= 1e9) return `${(v / 1e9).toFixed(2)} s`;
    if (v >= 1e6) return `${(v / 1e6).toFixed(2)} ms`;
    if (v >= 1e3) return `${(v / 1e3).toFixed(2)} µs`;
    return `${Math.round(v)} ns`;
  }
  if (unit === 'bytes') {
    if (v >= 1 << 30) return `${(v / (1 << 30)).toFixed(2)} GiB`;
    if (v >= 1 << 20) return `${(v / (1 << 20)).toFixed(2)} MiB`;
    if (v >= 1 << 10) return `${(v / (1 << 10)).toFixed(2)} KiB`;
    return `${Math.round(v)} B`;
  }
  return `${Math.round(v).toLocaleString('en-US')} ${unit}`;
}

const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A warm color per function name (blue for host functions), stable across runs. */
function color(name: string, host: boolean): string {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  const r = (h >>> 0) / 4294967296;
  if (host) return `hsl(${205 + Math.round(r * 20)}, 60%, ${62 + Math.round(r * 10)}%)`;
  return `hsl(${Math.round(r * 50)}, ${78 + Math.round(r * 15)}%, ${55 + Math.round(((h >>> 8) & 255) / 25)}%)`;
}

/** The label that fits `px` pixels, or ''. */
function fit(name: string, px: number): string {
  const n = Math.floor((px - 6) / CHAR_W);
  if (n < 3) return '';
  return name.length <= n ? name : `${name.slice(0, n - 2)}..`;
}

interface Drawn {
  readonly svg: string;
  readonly width: number;
  readonly height: number;
}

function draw(profile: StackProfile, options: FlameGraphOptions, interactive: boolean): Drawn {
  const want = options.sampleType ?? profile.defaultSampleType;
  let index = profile.sampleTypes.findIndex((t) => t.type === want);
  if (index < 0) index = profile.sampleTypes.length - 1;
  const unit = profile.sampleTypes[index]?.unit ?? '';
  const type = profile.sampleTypes[index]?.type ?? '';
  const width = options.width ?? 1200;
  const inner = width - 2 * PAD_SIDE;
  const root = tree(profile, index);
  const all = boxes(root, 0.1 / inner);
  const maxDepth = all.reduce((m, b) => Math.max(m, b.depth), 0);
  const height = PAD_TOP + (maxDepth + 1) * FRAME_H + 30;
  const title = options.title ?? 'Flame graph';
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="ui-monospace, Menlo, Consolas, monospace" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fdfaf4"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="16" font-family="sans-serif" fill="#222">${escapeXml(title)}</text>`,
    `<text x="${width / 2}" y="38" text-anchor="middle" font-size="11" font-family="sans-serif" fill="#666">${escapeXml(
      `${type} (${unit}), total ${formatValue(root.value, unit)}${interactive ? ' — click a frame to zoom, click "all" to reset' : ''}`,
    )}</text>`,
  );
  for (const b of all) {
    const x = PAD_SIDE + b.start * inner;
    const w = (b.end - b.start) * inner;
    const y = height - 30 - (b.depth + 1) * FRAME_H;
    const n = b.node;
    const pct = root.value > 0 ? ((100 * n.value) / root.value).toFixed(2) : '0';
    const tip = `${n.name}${n.detail === '' ? '' : ` (${n.detail})`}\n${formatValue(n.value, unit)} (${pct}%), self ${formatValue(n.self, unit)}`;
    const fill = b.depth === 0 ? '#d9d2c5' : color(n.name, n.host);
    const data = interactive ? ` data-s="${b.start}" data-e="${b.end}" data-d="${b.depth}" data-n="${escapeXml(n.name)}"` : '';
    parts.push(
      `<g class="f"${data}><title>${escapeXml(tip)}</title>` +
        `<rect x="${x.toFixed(2)}" y="${y}" width="${Math.max(w - 0.5, 0.1).toFixed(2)}" height="${FRAME_H - 1}" rx="2" fill="${fill}"/>` +
        `<text x="${(x + 3).toFixed(2)}" y="${y + 12}" fill="#111">${escapeXml(fit(n.name, w))}</text></g>`,
    );
  }
  parts.push(
    `<text x="${PAD_SIDE}" y="${height - 10}" font-size="11" font-family="sans-serif" fill="#666">wasmscope · ${all.length} frames${
      profile.samples.length > 0 ? `, ${profile.samples.length} stacks` : ''
    }</text>`,
    '</svg>',
  );
  return { svg: parts.join('\n'), width, height };
}

/**
 * `profile` as a self-contained SVG flame graph (a tooltip per frame).
 * @experimental
 */
export function flameGraphSvg(profile: StackProfile, options: FlameGraphOptions = {}): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${draw(profile, options, false).svg}\n`;
}

/** The zoom and search script of the HTML page (no dependencies). */
const SCRIPT = `
const W = document.querySelector('svg').viewBox.baseVal.width, PAD = ${PAD_SIDE}, CW = ${CHAR_W}, inner = W - 2 * PAD;
const frames = [...document.querySelectorAll('g.f')];
function fit(n, px) { const k = Math.floor((px - 6) / CW); return k < 3 ? '' : n.length <= k ? n : n.slice(0, k - 2) + '..'; }
function zoom(s, e, d) {
  for (const g of frames) {
    const gs = +g.dataset.s, ge = +g.dataset.e, gd = +g.dataset.d;
    const inside = gs >= s - 1e-12 && ge <= e + 1e-12, below = gd < d && gs <= s + 1e-12 && ge >= e - 1e-12;
    if (!inside && !below) { g.style.display = 'none'; continue; }
    g.style.display = '';
    const x = below ? PAD : PAD + ((gs - s) / (e - s)) * inner, w = below ? inner : ((ge - gs) / (e - s)) * inner;
    const r = g.querySelector('rect'), t = g.querySelector('text');
    r.setAttribute('x', x.toFixed(2)); r.setAttribute('width', Math.max(w - 0.5, 0.1).toFixed(2));
    t.setAttribute('x', (x + 3).toFixed(2)); t.textContent = fit(g.dataset.n, w);
  }
}
for (const g of frames) g.addEventListener('click', () => zoom(+g.dataset.s, +g.dataset.e, +g.dataset.d));
document.getElementById('q').addEventListener('input', (ev) => {
  const q = ev.target.value.toLowerCase();
  for (const g of frames) g.querySelector('rect').style.stroke = q && g.dataset.n.toLowerCase().includes(q) ? '#7c3aed' : '';
  for (const g of frames) g.querySelector('rect').style.strokeWidth = q && g.dataset.n.toLowerCase().includes(q) ? '2' : '';
});
`;

/**
 * `profile` as a self-contained HTML page: the flame graph with click-to-zoom and a search box.
 * @experimental
 */
export function flameGraphHtml(profile: StackProfile, options: FlameGraphOptions = {}): string {
  const d = draw(profile, options, true);
  const title = escapeXml(options.title ?? 'Flame graph');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{margin:0;background:#fdfaf4;font-family:sans-serif}header{padding:8px 10px;font-size:13px;color:#444}
input{font:inherit;padding:2px 6px;width:220px}g.f{cursor:pointer}g.f:hover rect{stroke:#222;stroke-width:1}</style></head>
<body><header>Search: <input id="q" placeholder="function name"></header>
${d.svg}
<script>${SCRIPT}</script></body></html>
`;
}
