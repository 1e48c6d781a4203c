// Starting and stopping the tern under test, shared by the suites in this directory (not a test
// file itself: `node --test` runs only `*.test.mjs`). The binary is TERN_BIN, default
// <repo>/target/debug/tern; each start gets its own temporary data directory, which the caller
// removes.

import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const ternBin = process.env.TERN_BIN ?? path.resolve(here, "../../../target/debug/tern");
const STARTUP_TIMEOUT_MS = 30_000;
const SHUTDOWN_TIMEOUT_MS = 10_000;

// Starts `tern serve` on 127.0.0.1 port 0 (and an HTTPS listener too with `tls: true`) and
// resolves once it has printed every address it listens on: { child, url, secureUrl, dataDir }.
export function startTern({ tls = false, prefix = "tern-compat-js-" } = {}) {
  return new Promise((resolve, reject) => {
    const dataDir = mkdtempSync(path.join(tmpdir(), prefix));
    const args = ["serve", "--listen", "127.0.0.1:0", "--data-dir", path.join(dataDir, "data")];
    if (tls) args.push("--tls-listen", "127.0.0.1:0");
    const child = spawn(ternBin, args, { stdio: ["ignore", "pipe", "pipe"] });
    // If this process ends without running the after() hook, take tern down with it.
    const killChild = () => child.kill("SIGKILL");
    process.once("exit", killChild);
    child.once("exit", () => process.off("exit", killChild));
    let stderr = "";
    let stdout = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`tern did not report its addresses within ${STARTUP_TIMEOUT_MS} ms; stderr:\n${stderr.slice(-3000)}`));
    }, STARTUP_TIMEOUT_MS);
    child.stderr.on("data", (chunk) => {
      stderr = (stderr + chunk).slice(-10_000);
    });
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      const plain = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      const secure = /listening on (https:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (plain && (secure || !tls)) {
        clearTimeout(timer);
        resolve({ child, url: plain[1], secureUrl: secure?.[1], dataDir });
      }
    });
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`tern exited early (${code ?? signal}); stderr:\n${stderr.slice(-3000)}`));
    });
  });
}

// SIGTERM, then SIGKILL if tern has not exited within the shutdown timeout.
export function stopTern(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill("SIGKILL"), SHUTDOWN_TIMEOUT_MS);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
