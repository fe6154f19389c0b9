import Foundation
import HTTPTypes
import Hummingbird

/// `GET /api/v1/openapi.json` and `GET /api/v1/docs`: the document, and a page that renders it in the browser with
/// no script or style from anywhere else.
struct DocsController {
    func addRoutes(to api: RouterGroup<AppRequestContext>) {
        api.get("openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.data)))
        }
        api.get("docs") { _, _ in
            Response(
                status: .ok,
                headers: [
                    .contentType: "text/html; charset=utf-8",
                    .contentSecurityPolicy: "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
                ],
                body: .init(byteBuffer: ByteBuffer(string: Self.page)))
        }
    }

    static let page = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>facegate API</title>
        <style>
        body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem;color:#1a1a1a}
        h2{margin-top:2rem;border-bottom:1px solid #ccc}.op{border:1px solid #ddd;border-radius:6px;margin:.6rem 0;padding:.5rem .8rem}
        .m{display:inline-block;min-width:4.5rem;font-weight:700;text-transform:uppercase}.get{color:#05612e}.post{color:#0b4a8b}
        .patch{color:#7a4b00}.delete{color:#9b1c1c}code{background:#f3f3f3;padding:0 .25rem}small{color:#555}
        details summary{cursor:pointer}pre{background:#f7f7f7;padding:.5rem;overflow:auto;font-size:13px}
        </style></head><body>
        <h1>facegate API</h1><p id="intro">Loading <a href="openapi.json">openapi.json</a>…</p><main id="ops"></main>
        <script>
        fetch('openapi.json').then(r => r.json()).then(doc => {
          document.getElementById('intro').textContent = doc.info.description;
          const byTag = {};
          for (const [path, ops] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(ops))
            (byTag[op.tags[0]] = byTag[op.tags[0]] || []).push({path, method, op});
          const main = document.getElementById('ops');
          for (const [tag, list] of Object.entries(byTag)) {
            const h = document.createElement('h2'); h.textContent = tag; main.appendChild(h);
            for (const {path, method, op} of list) {
              const div = document.createElement('div'); div.className = 'op';
              const head = document.createElement('div');
              const m = document.createElement('span'); m.className = 'm ' + method; m.textContent = method;
              const p = document.createElement('code'); p.textContent = path;
              const s = document.createElement('div'); s.textContent = op.summary;
              head.append(m, p); div.append(head, s);
              const codes = Object.entries(op.responses).filter(([c]) => c !== 'default')
                .map(([c, r]) => c + ' ' + r.description).join(' · ');
              const small = document.createElement('small'); small.textContent = codes; div.appendChild(small);
              const more = document.createElement('details'); const sum = document.createElement('summary');
              sum.textContent = 'parameters and body'; const pre = document.createElement('pre');
              pre.textContent = JSON.stringify({parameters: op.parameters, requestBody: op.requestBody}, null, 2);
              more.append(sum, pre); div.appendChild(more); main.appendChild(div);
            }
          }
        }).catch(e => { document.getElementById('intro').textContent = 'Could not load openapi.json: ' + e; });
        </script></body></html>
        """
}

extension HTTPField.Name {
    static let contentSecurityPolicy = Self("Content-Security-Policy")!
}
