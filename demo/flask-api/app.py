"""A small Flask API for the DockerPulse demo: a health check and a couple of endpoints that do
real work (hashing, JSON), so the container has a realistic, noisy baseline."""

import hashlib
import os
import time

from flask import Flask, jsonify, request

app = Flask(__name__)
STARTED = time.time()


@app.get("/health")
def health():
    return jsonify(status="ok", uptime_s=round(time.time() - STARTED, 1))


@app.get("/api/hash")
def hash_text():
    text = request.args.get("text", "dockerpulse")
    rounds = min(int(request.args.get("rounds", "1000")), 200_000)
    digest = text.encode()
    for _ in range(rounds):
        digest = hashlib.sha256(digest).digest()
    return jsonify(text=text, rounds=rounds, sha256=digest.hex())


@app.get("/api/orders")
def orders():
    n = min(int(request.args.get("n", "50")), 5000)
    return jsonify([{"id": i, "total": round(i * 9.99, 2), "status": "paid"} for i in range(n)])


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "5000")))
