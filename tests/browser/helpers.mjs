// What the browser tests share: a fresh headless Chromium per test, the stack's state, and
// helpers that act as a person would (labels, buttons) or, for set-up only, call the API.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { chromium } from "playwright-core";

export const ROOT = resolve(import.meta.dirname, "../..");
export const API = required("TRAILPORT_API");
export const STATE_DIR = required("TRAILPORT_STATE_DIR");
export const STATE = JSON.parse(readFileSync(join(STATE_DIR, "state.json"), "utf8"));
export const SCREENSHOTS = process.env.TRAILPORT_SCREENSHOTS || join(ROOT, ".local/screenshots");
export const PASSWORD = `browser ${randomBytes(12).toString("hex")}`;

const FLAGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run",
];

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is unset: run the browser tests through make test`);
  return value;
}

export function uniqueEmail(tag) {
  return `${tag}-${randomBytes(6).toString("hex")}@example.com`;
}

/**
 * Opens Debian's Chromium with a fresh profile and one page, recording every console message
 * that reports a Content-Security-Policy violation and every uncaught script error.
 */
export async function openBrowser(t, viewport = { width: 1280, height: 900 }) {
  const profile = mkdtempSync(join(tmpdir(), "trailport-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: FLAGS,
    viewport,
    acceptDownloads: true,
  });
  // Generous: under `cargo lambda watch` a function's first request may wait for its build.
  context.setDefaultTimeout(90_000);
  const page = context.pages()[0] || (await context.newPage());
  const violations = [];
  const scriptErrors = [];
  page.on("console", (message) => {
    if (/Content.Security.Policy/i.test(message.text())) violations.push(message.text());
  });
  page.on("pageerror", (error) => scriptErrors.push(String(error)));
  t.after(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  });
  const done = () => {
    assert.deepEqual(violations, [], "Content-Security-Policy violations");
    assert.deepEqual(scriptErrors, [], "uncaught script errors");
  };
  return { context, page, done };
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** The status and JSON body of an API call made from the page, with its cookie. */
export async function fetchFromPage(page, path, init = {}) {
  return page.evaluate(async ([path, init]) => {
    const response = await fetch(path, init);
    const type = response.headers.get("Content-Type") || "";
    const body = type.startsWith("application/json") ? await response.json() : null;
    return { status: response.status, body };
  }, [path, init]);
}

/** Set-up through the API, for tests about later screens: an account, signed in. */
export async function signedUpAndIn(context, email) {
  const headers = { "Content-Type": "application/json" };
  const data = { email, password: PASSWORD };
  const created = await context.request.post(`${API}/api/register`, { headers, data });
  assert.equal(created.status(), 201, await created.text());
  const login = await context.request.post(`${API}/api/login`, { headers, data });
  assert.equal(login.status(), 200, await login.text());
}

/** The visible error, once one is shown. */
export async function errorText(page) {
  const error = page.locator("#error");
  await error.waitFor({ state: "visible" });
  return error.textContent();
}

/** Submits a form with its button and waits for the button to come back from its call. */
export async function submit(button) {
  // Held by handle: while busy the button's name changes, so the locator would lose it.
  const handle = await button.elementHandle();
  await handle.click();
  await button.page().waitForFunction((el) => !el.disabled, handle, { timeout: 120_000 });
}

/** Runs a `local/stack.py` command against the running stack; returns what it printed. */
export function stack([command, ...args]) {
  const python = process.env.TRAILPORT_PYTHON || "python";
  return execFileSync(python, ["local/stack.py", command, "--state", STATE_DIR, ...args], {
    cwd: ROOT,
    encoding: "utf8",
  }).trim();
}

/** Creates a role in the demo account as `make demo-role` does; returns its ARN. */
export function createRole(args) {
  return stack(["role", ...args]);
}

export async function goToConsole(page) {
  await page.goto(`${API}/`, { timeout: 120_000 });
}
