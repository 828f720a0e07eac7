// check_openapi: validates docs/api/openapi.yaml with a real OpenAPI validator, proves the
// validator rejects a broken copy, then checks the document against a running sealboxd:
// every documented operation answers with a documented status and content type (and the
// required fields of its JSON schema), and every undocumented method/path pair is 404 or 405.
// usage: node check_openapi.mjs SPEC SOCKET KEY SANDBOX_ID
import SwaggerParser from "@apidevtools/swagger-parser";
import crypto from "node:crypto";
import http from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const [spec, sock, key, sbx] = process.argv.slice(2);
let fails = 0, passes = 0;
const ok = (c, what) => { if (c) passes++; else { fails++; console.log("FAIL   " + what); } };

const api = await SwaggerParser.validate(spec);
ok(api.openapi.startsWith("3."), "spec validates as OpenAPI 3");

// The validator must be able to say no: drop the responses of one operation.
const broken = JSON.parse(JSON.stringify(await SwaggerParser.parse(spec)));
delete broken.paths["/v1/health"].get.responses;
const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "oas-")), "broken.json");
fs.writeFileSync(tmp, JSON.stringify(broken));
let refused = false;
try { await SwaggerParser.validate(tmp); } catch { refused = true; }
ok(refused, "validator refuses a document with an operation without responses");

function request(method, p, auth) {
  return new Promise((resolve, reject) => {
    const headers = auth ? { Authorization: "Bearer " + key } : {};
    const r = http.request({ socketPath: sock, path: p, method, headers }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, type: res.headers["content-type"] || "", body }));
    });
    r.on("error", reject);
    r.end();
  });
}

const METHODS = ["get", "post", "put", "delete"];
const fill = (p) => p.replace("{id}", sbx).replace("{pid}", "1").replace("{repo}/{type}/{tag}", "default/key/doc");
for (const [p, item] of Object.entries(api.paths)) {
  for (const m of METHODS) {
    const op = item[m];
    const res = await request(m.toUpperCase(), fill(p), true);
    if (!op) {
      ok(res.status === 405 || res.status === 404, `${m} ${p}: undocumented, got ${res.status}`);
      continue;
    }
    const doc = op.responses[String(res.status)];
    ok(doc, `${m} ${p}: status ${res.status} is not documented`);
    if (!doc || !doc.content) continue;
    const ct = Object.keys(doc.content).find((c) => res.type.startsWith(c));
    ok(ct, `${m} ${p}: content type '${res.type}' is not documented for ${res.status}`);
    const schema = ct && doc.content[ct].schema;
    if (schema && schema.type === "object") {
      const body = JSON.parse(res.body);
      for (const f of schema.required || []) ok(f in body, `${m} ${p}: field '${f}' missing`);
    }
  }
}
// The measurement log: replayed here, independently of the daemon (JCS of these events is
// sorted keys without spaces: they hold only ASCII strings and integers).
const jcs = (v) => Array.isArray(v) ? "[" + v.map(jcs).join(",") + "]"
  : v && typeof v === "object" ? "{" + Object.keys(v).sort().map((k) => JSON.stringify(k) + ":" + jcs(v[k])).join(",") + "}"
  : JSON.stringify(v);
const lg = await request("GET", "/v1/sandboxes/" + sbx + "/log", true);
ok(lg.status === 200, `GET log: status ${lg.status}`);
if (lg.status === 200) {
  const log = JSON.parse(lg.body);
  let d = Buffer.alloc(48);
  for (const e of log.events)
    d = crypto.createHash("sha384").update(d).update(crypto.createHash("sha384").update(jcs(e)).digest()).digest();
  ok(log.digest === "sha384:" + d.toString("hex"), `GET log: digest ${log.digest} does not replay`);
  ok(log.tainted === false && log.events.length === 2, "GET log: image and config, untainted");
  ok(lg.body === jcs(log), "GET log: the answer is canonical JSON");
}
// Endpoints that are not in the document must not be served.
for (const p of ["/v1/sandboxes/" + sbx + "/filez", "/v1/sandboxes/" + sbx + "/logs", "/v1/sandboxes/" + sbx + "/pause",
                 "/v1/sandboxes/" + sbx + "/processes/1/kill", "/v1/openapi.json", "/v1/admin", "/v2/sandboxes", "/"])
  for (const m of METHODS) {
    const res = await request(m.toUpperCase(), p, true);
    ok(res.status === 404 || res.status === 405, `${m} ${p}: not documented but answered ${res.status}`);
  }
// The daemon serves the very document of its build.
const served = await request("GET", "/v1/openapi.yaml", false);
ok(served.status === 200 && served.body === fs.readFileSync(spec, "utf8"),
   "GET /v1/openapi.yaml serves docs/api/openapi.yaml byte for byte");
console.log(`openapi: ${passes} passed, ${fails} failed`);
process.exit(fails ? 1 : 0);
