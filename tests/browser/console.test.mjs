// The console in a real browser (Debian's headless Chromium through playwright-core), against
// the local stack served by `cargo lambda watch`: the whole flow with keys, the role flow,
// the message for each refusal a person can cause, sign-out, and a phone-sized screen.
// Run by scripts/test.sh, which sets TRAILPORT_API and TRAILPORT_STATE_DIR.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import {
  API, PASSWORD, ROOT, STATE, createRole, errorText, fetchFromPage, goToConsole, openBrowser,
  screenshot, signedUpAndIn, stack, submit, uniqueEmail,
} from "./helpers.mjs";

const [DEMO_KEY, DEMO_SECRET] = STATE.demo;

/** Connects the signed-in page's account with the demo keys, from the connection screen. */
async function connectWithKeys(page) {
  await page.getByRole("button", { name: "With an access key" }).click();
  await page.getByLabel("Access key id").fill(DEMO_KEY);
  await page.getByLabel("Secret access key").fill(DEMO_SECRET);
  await submit(page.getByRole("button", { name: "Connect with this key" }));
  await page.locator("#screen-buckets").waitFor({ state: "visible" });
}

test("a new user signs up, signs in, connects with keys, picks the trail bucket and signs out",
  async (t) => {
    const { page, done } = await openBrowser(t);
    const email = uniqueEmail("browser-keys");

    await goToConsole(page);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await screenshot(page, "01-sign-in");

    await page.getByRole("button", { name: "Create an account" }).click();
    const signup = page.locator("#screen-signup");
    await signup.getByLabel("Email").fill(email);
    await signup.getByLabel("Password").fill(PASSWORD);
    await screenshot(page, "02-sign-up");
    await submit(page.getByRole("button", { name: "Create account" }));

    const signin = page.locator("#screen-signin");
    await signin.waitFor({ state: "visible" });
    assert.match(await page.locator("#notice").textContent(), /is ready\. Sign in/);
    assert.equal(await signin.getByLabel("Email").inputValue(), email);
    await signin.getByLabel("Password").fill(PASSWORD);
    await submit(page.getByRole("button", { name: "Sign in" }));

    await page.locator("#screen-connect").waitFor({ state: "visible" });
    assert.equal(await page.locator("#who").textContent(), email);
    await screenshot(page, "03-connect-with-a-role");

    // A slow AWS check shows progress on the button that started it.
    await page.route("**/api/credentials", async (route) => {
      await new Promise((done) => setTimeout(done, 800));
      await route.continue();
    });
    await page.getByRole("button", { name: "With an access key" }).click();
    await page.getByLabel("Access key id").fill(DEMO_KEY);
    await page.getByLabel("Secret access key").fill(DEMO_SECRET);
    await screenshot(page, "04-connect-with-keys");
    const connectButton = page.locator("#keys-form button[type=submit]");
    await connectButton.click();
    assert.equal(await connectButton.textContent(), "Checking with AWS…");
    assert.equal(await connectButton.isDisabled(), true);
    await page.locator("#screen-buckets").waitFor({ state: "visible" });
    await page.unroute("**/api/credentials");
    assert.match(await page.locator("#notice").textContent(),
      /Connected to AWS account 123456789012 as arn:aws:iam::123456789012:user\/demo-analyst/);
    assert.equal(await page.getByLabel("Secret access key").inputValue(), "");

    const bucket = page.getByRole("radio", { name: "demo-cloudtrail-logs" });
    await bucket.waitFor();
    for (const name of ["demo-org-trail", "demo-website-assets"]) {
      assert.equal(await page.getByRole("radio", { name }).count(), 1, name);
    }
    await screenshot(page, "05-buckets");

    await bucket.check();
    await submit(page.getByRole("button", { name: "Use this bucket" }));
    await page.locator("#screen-events").waitFor({ state: "visible" });
    assert.equal(await page.locator("#notice").textContent(),
      "demo-cloudtrail-logs is now the bucket Trailport reads.");
    const chosen = await page.locator("#bucket-now").textContent();
    assert.match(chosen, /Using demo-cloudtrail-logs \(us-east-1\)/);
    assert.match(chosen, /CloudTrail logs found under .*AWSLogs\/123456789012\/CloudTrail\//);

    // The events list: the demo trail's newest events, then filtered by name.
    await page.waitForFunction(() => {
      const text = document.getElementById("events-status").textContent;
      return text && text !== "Reading the logs…";
    });
    const probe = await fetchFromPage(page, "/api/events?limit=50");
    assert.equal(probe.status, 200, JSON.stringify(probe.body));
    assert.equal(probe.body.events.length, 50, "the demo trail has 192 events");
    const rows = page.locator("#events-body tr");
    assert.equal(await rows.count(), 50);
    assert.equal(await page.locator("#events-more").isVisible(), true);
    const first = probe.body.events[0];
    await page.getByLabel("Event name").fill(first.name);
    await submit(page.getByRole("button", { name: "Show events" }));
    const names = await page.locator("#events-body tr td:nth-child(2)").allTextContents();
    assert.ok(names.length > 0);
    assert.ok(names.every((n) => n.startsWith(first.name)), names.join(", "));
    assert.equal(await page.locator("#events-more").isVisible(),
      Boolean((await fetchFromPage(page,
        `/api/events?limit=50&event_name=${encodeURIComponent(first.name)}`)).body.next_cursor));
    await screenshot(page, "06-events");

    // A bucket whose logs cannot be opened says why, and shows nothing of the bucket before.
    await page.locator("#nav").getByRole("button", { name: "Buckets" }).click();
    await page.getByRole("radio", { name: "demo-kms-trail" }).check();
    await submit(page.getByRole("button", { name: "Use this bucket" }));
    await page.locator("#screen-events").waitFor({ state: "visible" });
    assert.match(await errorText(page), /encrypted with a KMS key/);
    assert.equal(await page.locator("#events-table").isVisible(), false);
    assert.equal(await page.locator("#events-body tr").count(), 0);
    assert.equal(await page.locator("#events-more").isVisible(), false);

    // A reload keeps the session and lands on the same step.
    await page.reload();
    await page.locator("#screen-events").waitFor({ state: "visible" });

    await submit(page.getByRole("button", { name: "Sign out" }));
    await page.locator("#screen-signin").waitFor({ state: "visible" });
    assert.equal(await page.locator("#notice").textContent(), "You are signed out.");
    assert.equal(await page.locator("#nav").isVisible(), false);
    assert.equal((await fetchFromPage(page, "/api/me")).status, 401);
    await screenshot(page, "07-signed-out");
    done();
  });

test("the role flow shows the external id, the trust policy and a template, then connects",
  async (t) => {
    const { context, page, done } = await openBrowser(t);
    await signedUpAndIn(context, uniqueEmail("browser-role"));
    await goToConsole(page);
    await page.locator("#screen-connect").waitFor({ state: "visible" });

    const me = (await fetchFromPage(page, "/api/me")).body;
    const externalId = await page.locator("#external-id").textContent();
    assert.match(externalId, /^[0-9a-f]{32}$/);
    assert.equal(externalId, me.external_id);
    assert.equal(await page.locator("#service-principal").textContent(),
      me.service_principal_arn);

    const policy = JSON.parse(await page.locator("#trust-policy").textContent());
    const statement = policy.Statement[0];
    assert.equal(statement.Principal.AWS, me.service_principal_arn);
    assert.equal(statement.Action, "sts:AssumeRole");
    assert.deepEqual(statement.Condition, { StringEquals: { "sts:ExternalId": externalId } });

    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: "Download the CloudFormation template" }).click(),
    ]);
    assert.equal(download.suggestedFilename(), "trailport-role.json");
    const template = JSON.parse(readFileSync(await download.path(), "utf8"));
    const role = template.Resources.TrailportRole;
    assert.equal(role.Type, "AWS::IAM::Role");
    assert.deepEqual(role.Properties.AssumeRolePolicyDocument, policy);
    const granted = role.Properties.Policies.flatMap((p) => p.PolicyDocument.Statement);
    assert.deepEqual(granted.map((s) => s.Effect), ["Allow"]);
    assert.deepEqual(granted[0].Action.sort(), [
      "cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus", "s3:GetBucketLocation",
      "s3:GetObject", "s3:ListAllMyBuckets", "s3:ListBucket",
    ]);
    assert.ok(readFileSync(await download.path(), "utf8").includes(externalId));
    await screenshot(page, "08-role");

    const roleArn = page.getByLabel("Role ARN");
    const connect = page.getByRole("button", { name: "Connect with this role" });

    // A role that anyone's Trailport could assume is refused, and the form keeps the ARN.
    const open = createRole(["--no-condition"]);
    await roleArn.fill(open);
    await submit(connect);
    assert.match(await errorText(page), /can be assumed without your external id/);
    assert.equal(await roleArn.inputValue(), open);
    assert.equal(await roleArn.getAttribute("aria-invalid"), "true");

    const arn = createRole(["--external-id", externalId]);
    await roleArn.fill(arn);
    await submit(connect);
    await page.locator("#screen-buckets").waitFor({ state: "visible" });
    assert.equal(await page.locator("#notice").textContent(),
      `Connected to AWS account 123456789012 with the role ${arn}.`);
    await page.getByRole("radio", { name: "demo-cloudtrail-logs" }).waitFor();

    await page.getByRole("button", { name: "Connection" }).click();
    assert.match(await page.locator("#connection-now").textContent(),
      new RegExp(`with the role ${arn.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    done();
  });

test("each refusal a person can cause is explained, and forms keep what was typed",
  async (t) => {
    const { context, page, done } = await openBrowser(t);
    const email = uniqueEmail("browser-errors");
    await goToConsole(page);
    await page.getByRole("button", { name: "Create an account" }).click();
    const signup = page.locator("#screen-signup");
    const signupEmail = signup.getByLabel("Email");
    const signupPassword = signup.getByLabel("Password");
    const create = page.getByRole("button", { name: "Create account" });

    await signupEmail.fill("not-an-email");
    await signupPassword.fill(PASSWORD);
    await submit(create);
    assert.match(await errorText(page), /does not look like an email address/);
    assert.equal(await signupEmail.inputValue(), "not-an-email");
    assert.equal(await signupPassword.inputValue(), "", "the password is cleared");
    assert.equal(await page.evaluate(() => document.activeElement.id), "signup-email");

    await signupEmail.fill(email);
    await signupPassword.fill("password12345678");
    await submit(create);
    assert.match(await errorText(page), /^Choose a stronger password\. .+/);
    await screenshot(page, "09-error-weak-password");

    await signupPassword.fill("short");
    await submit(create);
    assert.match(await errorText(page), /^Choose a stronger password\./);

    await signupPassword.fill(PASSWORD);
    await submit(create);
    await page.locator("#screen-signin").waitFor({ state: "visible" });
    await page.getByRole("button", { name: "Create an account" }).click();
    await signupEmail.fill(email);
    await signupPassword.fill(PASSWORD);
    await submit(create);
    assert.match(await errorText(page), /already exists\. Sign in instead/);

    // Sign-in by keyboard alone: Tab between the fields, Enter to send.
    await page.getByRole("button", { name: "Sign in" }).click();
    const signin = page.locator("#screen-signin");
    await signin.getByLabel("Email").focus();
    await page.keyboard.press("Control+A");
    await page.keyboard.type(email);
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement.id), "signin-password");
    await page.keyboard.type("not the password at all");
    await page.keyboard.press("Enter");
    assert.equal(await errorText(page),
      "The email or password is wrong. Check both and try again.");
    assert.equal(await signin.getByLabel("Email").inputValue(), email);

    await signin.getByLabel("Password").fill(PASSWORD);
    await signin.getByLabel("Password").press("Enter");
    await page.locator("#screen-connect").waitFor({ state: "visible" });

    // Keys: each kind of mistake, with the fields kept except the secret.
    await page.getByRole("button", { name: "With an access key" }).click();
    const keyId = page.getByLabel("Access key id");
    const secret = page.getByLabel("Secret access key");
    const connect = page.getByRole("button", { name: "Connect with this key" });
    const cases = [
      ["AKIA123", DEMO_SECRET, /is not an access key id\. It starts with AKIA/],
      ["AKIAABCDEFGHIJKLMNOP", "too short", /is not a secret access key: it has exactly 40/],
      ["ASIAABCDEFGHIJKLMNOP", DEMO_SECRET, /temporary key \(it starts with ASIA\)/],
      ["AKIAABCDEFGHIJKLMNOP", "x".repeat(40), /AWS did not accept this key/],
    ];
    for (const [id, key, message] of cases) {
      await keyId.fill(id);
      await secret.fill(key);
      await submit(connect);
      assert.match(await errorText(page), message, id);
      assert.equal(await keyId.inputValue(), id);
      assert.equal(await secret.inputValue(), "");
    }
    await screenshot(page, "10-error-keys");

    await page.getByRole("button", { name: "With a role" }).click();
    const roleArn = page.getByLabel("Role ARN");
    const connectRole = page.getByRole("button", { name: "Connect with this role" });
    await roleArn.fill("arn:aws:iam::123456789012:user/demo-analyst");
    await submit(connectRole);
    assert.match(await errorText(page), /is not a role's ARN/);
    await roleArn.fill("arn:aws:iam::123456789012:role/NoSuchRole");
    await submit(connectRole);
    assert.match(await errorText(page), /could not assume this role/);

    // Buckets: a prefix that cannot be a trail's.
    await connectWithKeys(page);
    await page.getByRole("radio", { name: "demo-cloudtrail-logs" }).check();
    await page.getByLabel("Trail prefix (optional)").fill("a//b");
    await submit(page.getByRole("button", { name: "Use this bucket" }));
    assert.match(await errorText(page), /^That prefix cannot be used\./);
    assert.equal(await page.getByLabel("Trail prefix (optional)").inputValue(), "a//b");

    // A session that ended elsewhere sends the person back to sign in, with the reason.
    const logout = await context.request.post(`${API}/api/logout`,
      { headers: { "Content-Type": "application/json" }, data: {} });
    assert.equal(logout.status(), 204);
    await page.getByRole("button", { name: "Refresh the list" }).click();
    await page.locator("#screen-signin").waitFor({ state: "visible" });
    assert.equal(await errorText(page), "Please sign in to carry on.");
    done();
  });

test("too many failed sign-ins say how long to wait", async (t) => {
  const { context, page, done } = await openBrowser(t);
  const email = uniqueEmail("browser-throttle");
  const headers = { "Content-Type": "application/json" };
  const created = await context.request.post(`${API}/api/register`,
    { headers, data: { email, password: PASSWORD } });
  assert.equal(created.status(), 201);
  for (let i = 0; i < 10; i += 1) {
    const wrong = await context.request.post(`${API}/api/login`,
      { headers, data: { email, password: "not the password at all" } });
    assert.equal(wrong.status(), 401);
  }
  await goToConsole(page);
  const signin = page.locator("#screen-signin");
  await signin.getByLabel("Email").fill(email);
  await signin.getByLabel("Password").fill(PASSWORD);
  await submit(page.getByRole("button", { name: "Sign in" }));
  assert.match(await errorText(page),
    /^Too many sign-in attempts for this account\. Wait 1[45] minutes and try again\.$/);
  done();
});

test("every screen fits a 375-pixel-wide phone", async (t) => {
  const { context, page, done } = await openBrowser(t, { width: 375, height: 740 });
  await goToConsole(page);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  const fits = async (screen) => {
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 375, `${screen} is ${width}px wide`);
  };
  await fits("sign in");
  await screenshot(page, "11-phone-sign-in");

  await signedUpAndIn(context, uniqueEmail("browser-phone"));
  await page.reload();
  await page.locator("#screen-connect").waitFor({ state: "visible" });
  await fits("connection");
  await screenshot(page, "12-phone-connect");

  await connectWithKeys(page);
  await page.getByRole("radio", { name: "demo-cloudtrail-logs" }).waitFor();
  await fits("buckets");
  await page.getByRole("radio", { name: "demo-cloudtrail-logs" }).check();
  await submit(page.getByRole("button", { name: "Use this bucket" }));
  await page.locator("#screen-events").waitFor({ state: "visible" });
  await page.waitForFunction(() =>
    document.getElementById("events-status").textContent !== "Reading the logs…");
  await fits("events");
  await screenshot(page, "13-phone-events");
  done();
});

test("every error code in the README has a message in the console", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const table = readme.split("Error codes, by status:")[1].split("\n\n")[1];
  const documented = [...table.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]);
  const script = readFileSync(join(ROOT, "shared/console/app.js"), "utf8");
  const messages = new Set([...script.matchAll(/^ {4}([a-z_]+): \(/gm)].map((m) => m[1]));
  assert.ok(documented.length >= 30, `the README table gave only ${documented}`);
  const missing = documented.filter((code) => !messages.has(code));
  assert.deepEqual(missing, [], "codes without a message");
});

// The demo account as the local stack seeds it: three trails (one an organisation trail in
// eu-west-1, one encrypted with a KMS key the demo keys may not use) and an unrelated bucket.
test("trail buckets come first with what was found, and events filter and fail clearly",
  async (t) => {
    const { context, page, done } = await openBrowser(t);
    await signedUpAndIn(context, uniqueEmail("browser-trails"));
    await goToConsole(page);
    await page.locator("#screen-connect").waitFor({ state: "visible" });
    await connectWithKeys(page);
    await page.getByRole("radio", { name: "demo-org-trail" }).waitFor();

    // Other tests may add buckets of their own; the demo ones are what is known.
    const names = (await page.locator("#bucket-list label").allTextContents())
      .filter((name) => name.startsWith("demo-"));
    assert.deepEqual(names,
      ["demo-cloudtrail-logs", "demo-kms-trail", "demo-org-trail", "demo-website-assets"]);
    const org = page.locator("#bucket-list li").filter({ hasText: "demo-org-trail" });
    assert.match(await org.locator(".found").first().textContent(),
      /^Trail org-security: home eu-west-1, prefix security, .*organisation trail, logging/);
    await screenshot(page, "14-buckets-with-trails");

    // The organisation bucket: its layout, accounts and organisation are reported.
    await page.getByRole("radio", { name: "demo-org-trail" }).check();
    await submit(page.getByRole("button", { name: "Use this bucket" }));
    await page.locator("#screen-events").waitFor({ state: "visible" });
    const chosen = await page.locator("#bucket-now").textContent();
    assert.match(chosen, /Using demo-org-trail \(eu-west-1\)\./);
    assert.match(chosen, /Accounts: \d{12}, \d{12}\./);
    assert.match(chosen, /Regions: eu-west-1\./);
    assert.match(chosen, /Organisation: o-a1b2c3d4e5\./);
    await page.locator("#events-body tr").first().waitFor();
    await screenshot(page, "15-events-list");

    // A bad filter is explained, its own field is marked and focused, and the form keeps it.
    const focused = () => page.evaluate(() => document.activeElement.id);
    await page.getByLabel("Since (UTC)").fill("2026-12-03T10:00:00");
    await page.getByLabel("Until (UTC)").fill("2026-12-02T10:00:00");
    await submit(page.getByRole("button", { name: "Show events" }));
    assert.match(await errorText(page),
      /^One of the filters cannot be used\. since must not be later than until\./);
    assert.equal(await focused(), "f-since");
    assert.equal(await page.getByLabel("Since (UTC)").getAttribute("aria-invalid"), "true");
    assert.equal(await page.getByLabel("Until (UTC)").inputValue(), "2026-12-02T10:00");

    await page.getByLabel("Until (UTC)").fill("");
    await page.getByLabel("Event name").fill("Console Login");
    await submit(page.getByRole("button", { name: "Show events" }));
    assert.match(await errorText(page), /event_name must be a CloudTrail event name/);
    assert.equal(await focused(), "f-event-name");
    assert.equal(await page.getByLabel("Since (UTC)").getAttribute("aria-invalid"), null);

    // Filters that fit: only failed calls since a time, every row within them.
    await page.getByLabel("Event name").fill("");
    await page.getByLabel("Since (UTC)").fill("2026-12-01T00:00:00");
    await page.getByLabel("Only failed calls").check();
    await submit(page.getByRole("button", { name: "Show events" }));
    assert.equal(await page.locator("#error").isVisible(), false);
    const errors = await page.locator("#events-body tr td:nth-child(6)").allTextContents();
    assert.ok(errors.length > 0, "the organisation trail has failed calls");
    assert.ok(errors.every((code) => code !== ""), `${errors}`);
    const times = await page.locator("#events-body tr td:nth-child(1)").allTextContents();
    assert.ok(times.every((time) => time >= "2026-12-01 00:00:00"), `${times}`);

    // A bucket picked while the list reloads stays picked (the reload is slowed, not answered).
    await page.route("**/api/buckets", async (route) => {
      await new Promise((done) => setTimeout(done, 1500));
      await route.continue();
    });
    await page.locator("#nav").getByRole("button", { name: "Buckets" }).click();
    await page.getByRole("radio", { name: "demo-kms-trail" }).check();
    await page.waitForFunction(() => !document.getElementById("buckets-reload").disabled);
    await page.unroute("**/api/buckets");
    assert.equal(await page.getByRole("radio", { name: "demo-kms-trail" }).isChecked(), true);

    // The encrypted trail: the connection may not decrypt it, and the console says what to do.
    await submit(page.getByRole("button", { name: "Use this bucket" }));
    await page.locator("#screen-events").waitFor({ state: "visible" });
    assert.match(await errorText(page), /encrypted with a KMS key.*kms:Decrypt/);
    done();
  });

test("a connection that may not list trails still lists buckets and says why", async (t) => {
  const { context, page, done } = await openBrowser(t);
  await signedUpAndIn(context, uniqueEmail("browser-no-trails"));
  const [key, secret] = stack(["user", "--name", `browser-no-trails-${Date.now()}`,
    "--no-cloudtrail"]).split(/\s+/);
  await goToConsole(page);
  await page.locator("#screen-connect").waitFor({ state: "visible" });
  await page.getByRole("button", { name: "With an access key" }).click();
  await page.getByLabel("Access key id").fill(key);
  await page.getByLabel("Secret access key").fill(secret);
  await submit(page.getByRole("button", { name: "Connect with this key" }));
  await page.getByRole("radio", { name: "demo-cloudtrail-logs" }).waitFor();
  assert.match(await page.locator("#discovery").textContent(),
    /may not list trails.*cloudtrail:DescribeTrails/);
  assert.ok(await page.getByRole("radio", { name: "demo-cloudtrail-logs" }).isVisible());
  assert.equal(await page.locator("#bucket-list .found").count(), 0);
  done();
});
