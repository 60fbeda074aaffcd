import { createHash } from 'node:crypto';

/**
 * A self-contained page that renders `/api/openapi.json`: no CDN, no
 * framework, one inline script pinned by its hash in the CSP.
 */
const SCRIPT = `
(async () => {
  const root = document.getElementById('ops');
  const el = (tag, cls, text) => { const n = document.createElement(tag); if (cls) n.className = cls; if (text !== undefined) n.textContent = text; return n; };
  const doc = await (await fetch('openapi.json')).json();
  document.getElementById('title').textContent = doc.info.title;
  document.getElementById('desc').textContent = doc.info.description;
  const byTag = new Map();
  for (const [path, ops] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(ops)) {
    const tag = (op.tags || ['other'])[0];
    if (!byTag.has(tag)) byTag.set(tag, []);
    byTag.get(tag).push({ path, method, op });
  }
  for (const [tag, ops] of byTag) {
    root.appendChild(el('h2', '', tag));
    for (const { path, method, op } of ops) {
      const box = el('details', 'op');
      const head = el('summary');
      head.appendChild(el('span', 'm ' + method, method.toUpperCase()));
      head.appendChild(el('code', '', path));
      head.appendChild(el('span', 's', op.summary || ''));
      box.appendChild(head);
      if (op['x-portcullis-permission']) box.appendChild(el('p', '', 'Permission: ' + op['x-portcullis-permission']));
      if ((op.parameters || []).length) box.appendChild(el('p', '', 'Parameters: ' + op.parameters.map((p) => p.name + ' (' + p.in + ')').join(', ')));
      if (op.requestBody) { box.appendChild(el('h4', '', 'Request body')); box.appendChild(el('pre', '', JSON.stringify(op.requestBody.content['application/json'].schema, null, 2))); }
      box.appendChild(el('h4', '', 'Responses'));
      for (const [status, res] of Object.entries(op.responses)) {
        box.appendChild(el('p', '', status + ' — ' + (res.description || '')));
        const schema = res.content && res.content['application/json'] && res.content['application/json'].schema;
        if (schema && status < '400') box.appendChild(el('pre', '', JSON.stringify(schema, null, 2)));
      }
      root.appendChild(box);
    }
  }
})().catch((e) => { document.getElementById('ops').textContent = 'Could not load openapi.json: ' + e; });
`;

export const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Portcullis admin API</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:960px;padding:0 1rem;color:#222}
h2{border-bottom:1px solid #ddd;margin-top:2rem;text-transform:capitalize}
.op{border:1px solid #ddd;border-radius:6px;margin:.4rem 0;padding:.3rem .6rem}
summary{cursor:pointer;display:flex;gap:.6rem;align-items:center}
.m{font-weight:700;min-width:4.5rem;text-align:center;border-radius:4px;color:#fff;padding:0 .3rem}
.get{background:#2b7bb9}.post{background:#2f9e44}.put{background:#e67700}.patch{background:#9c36b5}.delete{background:#c92a2a}
.s{color:#555}pre{background:#f6f8fa;padding:.6rem;overflow:auto;max-height:24rem}
</style></head>
<body><h1 id="title">Portcullis admin API</h1><p id="desc"></p><p><a href="openapi.json">openapi.json</a></p><div id="ops">Loading…</div>
<script>${SCRIPT}</script></body></html>`;

export const DOCS_PAGE_CSP = `default-src 'none'; script-src 'sha256-${createHash('sha256').update(SCRIPT).digest('base64')}'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
