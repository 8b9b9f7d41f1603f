/**
 * `/docs`: a self-contained page (no CDN: it must work offline) that reads `/openapi.json`
 * and lists every operation with its parameters, body and responses; schemas expand in place.
 */
export const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Trellis API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2330;background:#f7f8fa}
header{background:#1d2330;color:#fff;padding:16px 32px}header h1{margin:0;font-size:22px}
main{max-width:1000px;margin:0 auto;padding:16px 32px}
h2{margin-top:32px;text-transform:capitalize;border-bottom:1px solid #d5d9e0}
details.op{background:#fff;border:1px solid #d5d9e0;border-radius:6px;margin:8px 0}
details.op>summary{cursor:pointer;padding:8px 12px;list-style:none}
.m{display:inline-block;width:64px;font-weight:700;text-transform:uppercase;font-size:13px}
.get{color:#0b7a3e}.post{color:#1f5fbf}.delete{color:#b3261e}.put{color:#8a5a00}
code,pre{font:13px/1.4 ui-monospace,monospace}pre{background:#f0f2f5;padding:8px;overflow:auto;border-radius:4px}
.body{padding:0 16px 12px}.muted{color:#5b6475}
</style></head><body>
<header><h1>Trellis API</h1><div class="muted" id="desc"></div></header>
<main id="root">Loading <code>/openapi.json</code>…</main>
<script>
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
fetch('openapi.json').then((r) => r.json()).then((doc) => {
  document.getElementById('desc').textContent = doc.info.description;
  const schemas = doc.components.schemas;
  const schema = (s) => {
    if (s && s.$ref) { const name = s.$ref.split('/').pop(); return '<details><summary><code>' + esc(name) + '</code></summary><pre>' + esc(JSON.stringify(schemas[name], null, 2)) + '</pre></details>'; }
    return s ? '<pre>' + esc(JSON.stringify(s, null, 2)) + '</pre>' : '';
  };
  const byTag = {};
  for (const [path, ops] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(ops)) (byTag[op.tags[0]] ||= []).push({ path, method, op });
  let html = '';
  for (const tag of doc.tags.map((t) => t.name)) {
    if (!byTag[tag]) continue;
    html += '<h2>' + esc(tag) + '</h2>';
    for (const { path, method, op } of byTag[tag]) {
      html += '<details class="op"><summary><span class="m ' + method + '">' + method + '</span><code>' + esc(path) + '</code> — ' + esc(op.summary) + '</summary><div class="body">';
      if (op.description) html += '<p>' + esc(op.description) + '</p>';
      html += '<p class="muted">auth: ' + (op.security.length ? esc(Object.keys(op.security[0])[0]) : 'none') + '</p>';
      if (op.parameters) html += '<h4>Parameters</h4><ul>' + op.parameters.map((p) => '<li><code>' + esc(p.name) + '</code> (' + p.in + ')' + (p.description ? ' — ' + esc(p.description) : '') + '</li>').join('') + '</ul>';
      if (op.requestBody) html += '<h4>Body</h4>' + Object.entries(op.requestBody.content).map(([t, c]) => '<div><code>' + esc(t) + '</code>' + schema(c.schema) + '</div>').join('');
      html += '<h4>Responses</h4><ul>' + Object.entries(op.responses).map(([s, r]) => '<li><b>' + s + '</b> ' + esc(r.description) + (r.content ? Object.values(r.content).map((c) => schema(c.schema)).join('') : '') + '</li>').join('') + '</ul>';
      html += '</div></details>';
    }
  }
  document.getElementById('root').innerHTML = html;
});
</script></body></html>
`;
