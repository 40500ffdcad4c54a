/**
 * The shim's synchronous `k6/http`: real requests to a real HTTP server, answered without a
 * Node process per call (child_process is mocked to fail, so a spawn shows up as an error).
 */
import { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { k6Http } from "./k6-shim.js";

vi.mock("node:child_process", () => {
  const spawned = () => {
    throw new Error("the shim spawned a process");
  };
  return { execFileSync: spawned, execFile: spawned, spawn: spawned, spawnSync: spawned };
});

// The shim blocks this thread while a request runs, so the server lives in another thread.
const SERVER = `
const { createServer } = require("node:http");
const { parentPort } = require("node:worker_threads");
const server = createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    const status = req.url === "/missing" ? 404 : 200;
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify({ method: req.method, url: req.url, auth: req.headers.authorization ?? null, body, deep: { value: "é\\"" } }));
  });
});
server.listen(0, "127.0.0.1", () => parentPort.postMessage(server.address().port));
`;

let server: Worker;
let base = "";

beforeAll(async () => {
  server = new Worker(SERVER, { eval: true });
  const port = await new Promise<number>((resolve) => server.once("message", resolve));
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await server.terminate();
});

describe("k6/http shim", () => {
  test("POST sends method, headers and body and returns status, body and json()", () => {
    const res = k6Http.default.post(`${base}/v1/x`, '{"a":1}', {
      headers: { authorization: "Bearer t" },
    });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({
      method: "POST",
      url: "/v1/x",
      auth: "Bearer t",
      body: '{"a":1}',
    });
    expect(res.json("deep.value")).toBe('é"');
    expect(JSON.parse(res.body).method).toBe("POST");
  });

  test("many GETs in a row each get their own answer", () => {
    for (let i = 0; i < 50; i++) {
      const res = k6Http.default.get(`${base}/n/${i}`);
      expect(res.json("url")).toBe(`/n/${i}`);
    }
  });

  test("error statuses come back as they are", () => {
    expect(k6Http.default.get(`${base}/missing`).status).toBe(404);
  });

  test("a refused connection is status 0, as in k6", async () => {
    const closed = new Worker(
      `const s = require("node:net").createServer(); s.listen(0, "127.0.0.1", () => { require("node:worker_threads").parentPort.postMessage(s.address().port); s.close(); });`,
      { eval: true },
    );
    const port = await new Promise<number>((resolve) => closed.once("message", resolve));
    await closed.terminate();
    const res = k6Http.default.get(`http://127.0.0.1:${port}/`);
    expect(res.status).toBe(0);
    expect(res.body).not.toBe("");
  });
});
