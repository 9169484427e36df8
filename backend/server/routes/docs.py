"""`/docs`: the API described from `/openapi.json`, on a page that loads nothing from elsewhere.

FastAPI's Swagger UI page loads its scripts from a public CDN, so on an offline machine (or a GPU
box without internet) it is blank. This page is one inline script: it fetches the schema from this
server and lists every operation with its parameters, body parts and answers."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LTX Scene Control backend: API</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}
h2{margin-top:1.6em;font-size:1.05em}code,pre{font:13px ui-monospace,monospace;background:#f3f3f3}
pre{padding:.5em;overflow:auto}.m{display:inline-block;min-width:4em;font-weight:bold}
</style></head><body>
<h1 id="title">API</h1><p id="about"></p><div id="ops">Loading /openapi.json ...</div>
<script>
const esc = s => String(s ?? "").replace(/[&<>"]/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]));
fetch("/openapi.json").then(r => r.json()).then(doc => {
  document.getElementById("title").textContent = doc.info.title + " " + doc.info.version;
  document.getElementById("about").textContent = doc.info.description || "";
  let html = "";
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      html += `<h2><span class="m">${esc(method.toUpperCase())}</span><code>${esc(path)}</code></h2>`;
      html += `<p>${esc(op.summary)}${op.description ? "<br>" + esc(op.description) : ""}</p>`;
      if (!op.security) html += "<p><em>no token needed</em></p>";
      const params = (op.parameters || []).map(
        p => `<li><code>${esc(p.name)}</code> (${esc(p.in)}) ${esc(p.description)}</li>`);
      if (params.length) html += "<ul>" + params.join("") + "</ul>";
      const body = op.requestBody && Object.entries(op.requestBody.content || {})[0];
      if (body) html += `<p>body (${esc(body[0])}):</p><pre>${esc(JSON.stringify(body[1].schema, null, 1))}</pre>`;
      const answers = Object.entries(op.responses || {}).map(
        ([code, r]) => `<li>${esc(code)}: ${esc(r.description)}</li>`);
      html += "<ul>" + answers.join("") + "</ul>";
    }
  }
  document.getElementById("ops").innerHTML = html;
}).catch(e => { document.getElementById("ops").textContent = "could not load /openapi.json: " + e; });
</script></body></html>
"""


@router.get("/docs", response_class=HTMLResponse)
def docs() -> str:
    return PAGE
