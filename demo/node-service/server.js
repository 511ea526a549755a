// A small Node.js service for the DockerPulse demo: a health check, an endpoint that does real
// work, and an in-memory cache, so the container has a realistic baseline.
"use strict";
const http = require("node:http");
const crypto = require("node:crypto");

const started = Date.now();
const cache = new Map();

function send(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, "http://localhost");
  if (url.pathname === "/health") {
    return send(res, 200, { status: "ok", uptime_s: (Date.now() - started) / 1000 });
  }
  if (url.pathname === "/api/token") {
    const token = crypto.randomBytes(16).toString("hex");
    cache.set(token, Date.now());
    if (cache.size > 10000) cache.delete(cache.keys().next().value);
    return send(res, 200, { token, cached: cache.size });
  }
  if (url.pathname === "/api/work") {
    const n = Math.min(Number(url.searchParams.get("n") || 20000), 2000000);
    let h = crypto.createHash("sha256");
    for (let i = 0; i < n; i += 1000) h = crypto.createHash("sha256").update(h.digest());
    return send(res, 200, { n, digest: h.digest("hex") });
  }
  return send(res, 404, { error: "not found" });
});

server.listen(Number(process.env.PORT || 3000), "0.0.0.0", () => {
  console.log(`node-service listening on ${server.address().port}`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
