// Trailport console: plain JavaScript over Trailport's JSON API, from the API's own origin,
// so the HttpOnly session cookie travels by itself and the page never sees it.
"use strict";

(() => {
  // What a person reads for each error code the API can answer with: what happened and what
  // to do next. `detail` is the server's own message, which for some codes carries the reason.
  const MESSAGES = {
    invalid_json: () => "The console sent something Trailport could not read. Reload the page " +
      "and try again.",
    invalid_request: (d) => `Trailport could not use that request: ${d} Reload the page and ` +
      "try again.",
    unknown_field: () => "This console is out of date with the server. Reload the page and " +
      "try again.",
    invalid_email: () => "That does not look like an email address. Check that it has one @ " +
      "and a domain such as example.com.",
    // The API's own reason already says what makes a good password.
    weak_password: (d) => `Choose a stronger password. ${d}`,
    invalid_access_key: () => "That is not an access key id. It starts with AKIA and has 20 " +
      "capital letters and digits in all; check you did not paste the secret instead.",
    invalid_secret_key: () => "That is not a secret access key: it has exactly 40 characters. " +
      "Paste the whole secret shown when the key was created.",
    temporary_credentials: () => "This is a temporary key (it starts with ASIA) and would stop " +
      "working within hours. Create an access key for an IAM user, or connect with a role.",
    invalid_role_arn: () => "That is not a role's ARN. It looks like " +
      "arn:aws:iam::123456789012:role/TrailportReadOnly; copy it from the role's page in the " +
      "IAM console or from the stack's RoleArn output.",
    role_arn_disabled: () => "Role connections are switched off on this Trailport. Connect " +
      "with an access key instead.",
    role_trust_too_broad: () => "This role can be assumed without your external id, so " +
      "someone else's Trailport account could reach your AWS account through it. Make its " +
      "trust policy require sts:ExternalId equal to your external id (the policy and " +
      "template above do), then connect again.",
    aws_credentials_invalid: () => "AWS did not accept this key. Check that the key id and " +
      "secret belong together and that the key is active in the IAM console.",
    not_connected: () => "Connect an AWS account first.",
    invalid_bucket_name: () => "That is not a valid S3 bucket name. Choose a bucket from the " +
      "list.",
    invalid_prefix: (d) => `That prefix cannot be used. ${d}`,
    not_signed_in: () => "Please sign in to carry on.",
    session_expired: () => "Your session has ended. Sign in again to carry on.",
    invalid_login: () => "The email or password is wrong. Check both and try again.",
    cross_site_request: () => "Trailport refused the request because it did not come from " +
      "this console's own address. Open the console from its usual address and try again.",
    role_not_assumable: () => "Trailport could not assume this role. Check the ARN, that the " +
      "role exists, and that its trust policy names the principal and your external id shown " +
      "above.",
    aws_access_denied: () => "AWS refused: the connected identity lacks a permission " +
      "Trailport needs (s3:ListAllMyBuckets, s3:GetBucketLocation, s3:ListBucket, " +
      "s3:GetObject). Add the read-only permissions, then try again.",
    aws_credentials_revoked: () => "AWS no longer accepts the saved connection: the key was " +
      "deactivated or deleted, or the role changed. Connect again.",
    bucket_access_denied: () => "The connection cannot read this bucket. Allow s3:ListBucket " +
      "and s3:GetObject on it (check its bucket policy too), then try again.",
    bucket_not_found: () => "This bucket is no longer in the connected account. Refresh the " +
      "list and choose another.",
    method_not_allowed: () => "The console made a request the server does not accept. Reload " +
      "the page; if it happens again, tell your Trailport administrator.",
    email_taken: () => "An account with this email already exists. Sign in instead, or use " +
      "another email.",
    connection_changed: () => "The connection changed while this was running (perhaps in " +
      "another tab). Check the connection and try again.",
    body_too_large: () => "What you entered is too long to send. Shorten it and try again.",
    unsupported_media_type: () => "The console made a request the server does not accept. " +
      "Reload the page and try again.",
    too_many_attempts: (_d, retry) => "Too many sign-in attempts for this account. " +
      `Wait ${waitText(retry)} and try again.`,
    internal_error: () => "Something went wrong on Trailport's side. It has been logged; try " +
      "again in a moment.",
    aws_error: () => "AWS answered with an error. Try again in a moment.",
    aws_unreachable: () => "Trailport could not reach AWS. Try again in a moment.",
    store_unavailable: () => "Trailport's storage is not answering right now. Try again in a " +
      "minute.",
    aws_timeout: () => "AWS took too long to answer. Try again; if it keeps happening, AWS " +
      "may be having trouble in that region.",
    invalid_filter: (d) => `One of the filters cannot be used. ${d} Correct it and show ` +
      "events again.",
    invalid_cursor: () => "The list of events changed since it was loaded. Show events again " +
      "to start from the newest.",
    no_bucket_selected: () => "Choose the bucket that holds your CloudTrail logs first.",
    kms_access_denied: () => "The log files are encrypted with a KMS key that the connection " +
      "may not use. Allow kms:Decrypt on the trail's key for the connected identity, then " +
      "try again.",
    cloudtrail_access_denied: () => "The connection may not list trails, so buckets are shown " +
      "without what CloudTrail knows about them. Allow cloudtrail:DescribeTrails and " +
      "cloudtrail:GetTrailStatus to see them.",
    network: () => "The console could not reach Trailport. Check your network connection and " +
      "try again.",
  };

  // The field each code is about, by form, so focus goes where the fix is typed.
  const FIELDS = {
    invalid_email: { "signin-form": "signin-email", "signup-form": "signup-email" },
    email_taken: { "signup-form": "signup-email" },
    weak_password: { "signup-form": "signup-password" },
    invalid_login: { "signin-form": "signin-email" },
    invalid_access_key: { "keys-form": "access-key" },
    temporary_credentials: { "keys-form": "access-key" },
    aws_credentials_invalid: { "keys-form": "access-key" },
    invalid_secret_key: { "keys-form": "secret-key" },
    invalid_role_arn: { "role-form": "role-arn" },
    role_not_assumable: { "role-form": "role-arn" },
    role_trust_too_broad: { "role-form": "role-arn" },
    invalid_prefix: { "buckets-form": "bucket-prefix" },
  };

  // The events form's input for each query parameter an `invalid_filter` error may name.
  const FILTER_INPUTS = {
    event_name: "f-event-name", user_arn: "f-user-arn", since: "f-since", until: "f-until",
    errors_only: "f-errors",
  };

  const S3_AND_TRAIL_READ = [
    "s3:ListAllMyBuckets", "s3:GetBucketLocation", "s3:ListBucket", "s3:GetObject",
    "cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus",
  ];

  const $ = (id) => document.getElementById(id);
  const state = { me: null, selection: null, cursor: null, filters: null, cfnUrl: null };

  function waitText(seconds) {
    const s = Number(seconds);
    if (!Number.isFinite(s) || s <= 0) return "a few minutes";
    if (s < 90) return `${Math.ceil(s)} seconds`;
    return `${Math.ceil(s / 60)} minutes`;
  }

  /** One API call. Never throws: failures come back as `{ok: false, code, detail}`. */
  async function api(method, path, body) {
    const init = { method, credentials: "same-origin", headers: {} };
    if (method === "POST") {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body || {});
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch {
      return { ok: false, status: 0, code: "network", detail: "" };
    }
    let data = null;
    const type = response.headers.get("Content-Type") || "";
    if (type.startsWith("application/json")) {
      try { data = await response.json(); } catch { data = null; }
    }
    if (response.ok) return { ok: true, status: response.status, data };
    const error = (data && data.error) || {};
    return {
      ok: false,
      status: response.status,
      code: error.code || null,
      detail: error.message || "",
      field: error.field || null,
      retryAfter: response.headers.get("Retry-After"),
    };
  }

  function explain(result) {
    const make = result.code && MESSAGES[result.code];
    if (make) return make(result.detail || "", result.retryAfter);
    if (result.detail) return result.detail;
    return `Trailport answered with HTTP ${result.status}. Try again in a moment.`;
  }

  function clearMessages() {
    $("error").hidden = true;
    $("error").textContent = "";
    $("notice").hidden = true;
    $("notice").textContent = "";
    for (const el of document.querySelectorAll("[aria-invalid]")) {
      el.removeAttribute("aria-invalid");
    }
  }

  function showError(text) {
    $("error").textContent = text;
    $("error").hidden = false;
  }

  function showNotice(text) {
    $("notice").textContent = text;
    $("notice").hidden = false;
  }

  /**
   * Shows a failed call's message. A lost session sends the person to sign in; other codes
   * mark and focus the field they are about.
   */
  function fail(result, formId) {
    if (result.code === "not_signed_in" || result.code === "session_expired") {
      state.me = null;
      show("signin");
    } else if (result.code === "not_connected") {
      show("connect");
    } else if (result.code === "no_bucket_selected") {
      show("buckets");
      loadBuckets();
    }
    showError(explain(result));
    const fieldId = result.code === "invalid_filter" && formId === "events-form"
      ? FILTER_INPUTS[result.field]
      : FIELDS[result.code] && FIELDS[result.code][formId];
    if (fieldId) {
      $(fieldId).setAttribute("aria-invalid", "true");
      $(fieldId).focus();
    }
  }

  /** Runs `work` with `button` disabled and saying what is going on. */
  async function busy(button, work) {
    const label = button.textContent;
    button.disabled = true;
    button.textContent = button.dataset.busy || "Working…";
    document.body.setAttribute("aria-busy", "true");
    try {
      return await work();
    } finally {
      button.disabled = false;
      button.textContent = label;
      document.body.removeAttribute("aria-busy");
    }
  }

  function show(name) {
    for (const section of document.querySelectorAll("[data-screen]")) {
      section.hidden = section.id !== `screen-${name}`;
    }
    const signedIn = Boolean(state.me);
    $("nav").hidden = !signedIn;
    $("who").textContent = signedIn ? state.me.email : "";
    for (const button of document.querySelectorAll("nav [data-go]")) {
      if (button.dataset.go === name) button.setAttribute("aria-current", "page");
      else button.removeAttribute("aria-current");
    }
    const heading = document.querySelector(`#screen-${name} h2`);
    if (heading) {
      heading.tabIndex = -1;
      heading.focus();
    }
  }

  function field(id) {
    return $(id).value;
  }

  // --- Signing up, in and out -----------------------------------------------------------

  async function refreshMe() {
    const result = await api("GET", "/api/me");
    state.me = result.ok ? result.data : null;
    return result;
  }

  /** Sends a signed-in person to the first step they have not done. */
  async function route() {
    const me = state.me;
    if (!me.connection) {
      renderConnect();
      show("connect");
    } else if (!me.cloudtrail_bucket) {
      show("buckets");
      await loadBuckets();
    } else {
      show("events");
      await loadEvents(false);
    }
  }

  async function onSignup(event) {
    event.preventDefault();
    clearMessages();
    const button = event.submitter || event.target.querySelector("button[type=submit]");
    const email = field("signup-email");
    const result = await busy(button, () =>
      api("POST", "/api/register", { email, password: field("signup-password") }));
    $("signup-password").value = "";
    if (!result.ok) return fail(result, "signup-form");
    $("signin-email").value = result.data.email;
    show("signin");
    showNotice(`Your account ${result.data.email} is ready. Sign in with your new password.`);
    $("signin-password").focus();
  }

  async function onSignin(event) {
    event.preventDefault();
    clearMessages();
    const button = event.submitter || event.target.querySelector("button[type=submit]");
    const result = await busy(button, async () => {
      const login = await api("POST", "/api/login", {
        email: field("signin-email"),
        password: field("signin-password"),
      });
      return login.ok ? refreshMe() : login;
    });
    $("signin-password").value = "";
    if (!result.ok) return fail(result, "signin-form");
    await route();
  }

  async function onSignout() {
    clearMessages();
    const result = await busy($("signout"), () => api("POST", "/api/logout", {}));
    if (!result.ok && result.code !== "not_signed_in") return fail(result);
    state.me = null;
    state.selection = null;
    // Nothing of this account stays in the page for whoever signs in next.
    $("bucket-list").replaceChildren();
    delete $("bucket-list").dataset.picked;
    $("events-body").replaceChildren();
    $("events-table").hidden = true;
    show("signin");
    showNotice("You are signed out.");
  }

  // --- The connection ---------------------------------------------------------------------

  function trustPolicy(me) {
    return {
      Version: "2012-10-17",
      Statement: [{
        Effect: "Allow",
        Principal: { AWS: me.service_principal_arn },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "sts:ExternalId": me.external_id } },
      }],
    };
  }

  /** A CloudFormation template for the role, built here so nothing about it is stored. */
  function roleTemplate(me) {
    return {
      AWSTemplateFormatVersion: "2010-09-09",
      Description: "A read-only role that Trailport assumes, with your external id, to list " +
        "your S3 buckets and read CloudTrail's log files.",
      Parameters: {
        RoleName: { Type: "String", Default: "TrailportReadOnly" },
      },
      Resources: {
        TrailportRole: {
          Type: "AWS::IAM::Role",
          Properties: {
            RoleName: { Ref: "RoleName" },
            AssumeRolePolicyDocument: trustPolicy(me),
            Policies: [{
              PolicyName: "trailport-read-only",
              PolicyDocument: {
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Action: S3_AND_TRAIL_READ, Resource: "*" }],
              },
            }],
          },
        },
      },
      Outputs: {
        RoleArn: {
          Description: "Paste this into Trailport.",
          Value: { "Fn::GetAtt": ["TrailportRole", "Arn"] },
        },
      },
    };
  }

  function describeConnection(c) {
    if (c.type === "role") {
      return `Connected to AWS account ${c.account_id} with the role ${c.role_arn}.`;
    }
    return `Connected to AWS account ${c.account_id} as ${c.arn}, with the key ` +
      `${c.access_key_id_hint}.`;
  }

  function renderConnect() {
    const me = state.me;
    if (!me) return;
    const now = $("connection-now");
    now.hidden = !me.connection;
    now.textContent = me.connection ? `${describeConnection(me.connection)} Connecting ` +
      "again replaces this connection." : "";
    $("external-id").textContent = me.external_id || "";
    $("service-principal").textContent = me.service_principal_arn || "(not configured)";
    $("role-disabled").hidden = me.role_connections_enabled !== false;
    $("trust-policy").textContent = JSON.stringify(trustPolicy(me), null, 2);
    if (state.cfnUrl) URL.revokeObjectURL(state.cfnUrl);
    const blob = new Blob([JSON.stringify(roleTemplate(me), null, 2) + "\n"],
      { type: "application/json" });
    state.cfnUrl = URL.createObjectURL(blob);
    $("cfn-download").href = state.cfnUrl;
  }

  function selectTab(which) {
    const role = which === "role";
    $("tab-role").setAttribute("aria-pressed", String(role));
    $("tab-keys").setAttribute("aria-pressed", String(!role));
    $("panel-role").hidden = !role;
    $("panel-keys").hidden = role;
  }

  async function connect(button, body, formId) {
    clearMessages();
    const result = await busy(button, async () => {
      const saved = await api("POST", "/api/credentials", body);
      if (!saved.ok) return saved;
      await refreshMe();
      return saved;
    });
    if (!result.ok) return fail(result, formId);
    renderConnect();
    show("buckets");
    showNotice(describeConnection(result.data));
    await loadBuckets(result.data.trail_discovery);
  }

  async function onKeys(event) {
    event.preventDefault();
    const body = { access_key: field("access-key").trim(), secret_key: field("secret-key") };
    $("secret-key").value = "";
    await connect(event.submitter || event.target.querySelector("button"), body, "keys-form");
  }

  async function onRole(event) {
    event.preventDefault();
    const body = { role_arn: field("role-arn").trim() };
    await connect(event.submitter || event.target.querySelector("button"), body, "role-form");
  }

  // --- Buckets ----------------------------------------------------------------------------

  function describeTrail(t) {
    const parts = [];
    if (t.home_region) parts.push(`home ${t.home_region}`);
    parts.push(t.prefix ? `prefix ${t.prefix}` : "no prefix");
    if (t.multi_region) parts.push("all regions");
    if (t.organization) parts.push("organisation trail");
    if (t.logging === true) parts.push("logging");
    if (t.logging === false) parts.push("not logging");
    return `Trail ${t.name}: ${parts.join(", ")}`;
  }

  function renderBuckets(data) {
    const list = $("bucket-list");
    list.replaceChildren();
    const trails = (b) => (Array.isArray(b.trails) ? b.trails : []);
    // In the server's order, which puts the buckets trails deliver to first.
    const buckets = data.buckets || [];
    $("buckets-empty").hidden = buckets.length > 0;
    // A bucket the person picked while the list was reloading stays picked.
    const picked = buckets.some((b) => b.name === list.dataset.picked) ? list.dataset.picked : null;
    const wanted = picked || data.selected;
    buckets.forEach((bucket, i) => {
      const li = document.createElement("li");
      const input = document.createElement("input");
      input.type = "radio";
      input.name = "bucket";
      input.id = `bucket-${i}`;
      input.value = bucket.name;
      input.checked = wanted ? wanted === bucket.name : i === 0;
      input.addEventListener("change", () => { list.dataset.picked = bucket.name; });
      const label = document.createElement("label");
      label.htmlFor = input.id;
      label.textContent = bucket.name;
      li.append(input, label);
      if (bucket.region) {
        const region = document.createElement("span");
        region.className = "hint";
        region.textContent = ` ${bucket.region}`;
        li.append(region);
      }
      if (trails(bucket).length) {
        const tag = document.createElement("span");
        tag.className = "tag";
        tag.textContent = "CloudTrail";
        li.append(tag);
      }
      for (const t of trails(bucket)) {
        const p = document.createElement("p");
        p.className = "found";
        p.textContent = describeTrail(t);
        li.append(p);
      }
      if (data.selected === bucket.name) {
        const p = document.createElement("p");
        p.className = "found";
        p.textContent = "Chosen now.";
        li.append(p);
      }
      list.append(li);
    });

    const discovery = data.trail_discovery;
    const note = $("discovery");
    note.hidden = true;
    if (discovery && discovery.status === "denied") {
      note.textContent = MESSAGES.cloudtrail_access_denied();
      note.hidden = false;
    } else if (discovery && discovery.status === "unavailable") {
      note.textContent = "CloudTrail could not be asked about trails just now, so buckets are " +
        `shown without them.${discovery.message ? ` (${discovery.message})` : ""}`;
      note.hidden = false;
    }
  }

  async function loadBuckets() {
    const button = $("buckets-reload");
    const result = await busy(button, () => api("GET", "/api/buckets"));
    if (!result.ok) return fail(result, "buckets-form");
    renderBuckets(result.data);
  }

  function describeSelection(s) {
    const found = s.cloudtrail || {};
    const bits = [`Using ${s.bucket}${s.region ? ` (${s.region})` : ""}.`];
    if (found.found) {
      bits.push(`CloudTrail logs found under ${(found.prefixes || []).join(", ")}.`);
      if (found.accounts && found.accounts.length) {
        bits.push(`Accounts: ${found.accounts.join(", ")}.`);
      }
      if (found.regions && found.regions.length) bits.push(`Regions: ${found.regions.join(", ")}.`);
      if (found.organization_ids && found.organization_ids.length) {
        bits.push(`Organisation: ${found.organization_ids.join(", ")}.`);
      }
    } else {
      bits.push("No CloudTrail logs were found in it yet; events appear once a trail writes " +
        "there. If your trail uses a custom prefix, choose the bucket again with that prefix.");
    }
    return bits.join(" ");
  }

  async function onSelect(event) {
    event.preventDefault();
    clearMessages();
    const chosen = document.querySelector("#bucket-list input[name=bucket]:checked");
    if (!chosen) return showError("Choose a bucket from the list first.");
    const body = { bucket: chosen.value };
    const prefix = field("bucket-prefix").trim();
    if (prefix) body.prefix = prefix;
    const button = event.submitter || event.target.querySelector("button[type=submit]");
    const result = await busy(button, async () => {
      const selected = await api("POST", "/api/buckets/select", body);
      if (selected.ok) await refreshMe();
      return selected;
    });
    if (!result.ok) return fail(result, "buckets-form");
    delete $("bucket-list").dataset.picked;
    state.selection = result.data;
    show("events");
    showNotice(`${result.data.bucket} is now the bucket Trailport reads.`);
    await loadEvents(false);
  }

  // --- Events -----------------------------------------------------------------------------

  function renderBucketCard() {
    const card = $("bucket-now");
    const bucket = state.me && state.me.cloudtrail_bucket;
    if (!bucket) {
      card.textContent = "No bucket chosen yet. Choose one under Buckets.";
      return;
    }
    const sel = state.selection && state.selection.bucket === bucket.name ? state.selection : null;
    const prefixes = bucket.trail_prefixes || [];
    card.textContent = sel ? describeSelection(sel)
      : `Bucket ${bucket.name}${bucket.region ? ` (${bucket.region})` : ""}` +
        `${prefixes.length ? `, logs under ${prefixes.join(", ")}` : ""}.`;
  }

  /** A `datetime-local` value, read as UTC, in RFC 3339; empty stays empty. */
  function utc(value) {
    if (!value) return "";
    return (value.length === 16 ? `${value}:00` : value) + "Z";
  }

  function readFilters() {
    const filters = new URLSearchParams({ limit: "50" });
    const add = (name, value) => { if (value) filters.set(name, value); };
    add("event_name", field("f-event-name").trim());
    add("user_arn", field("f-user-arn").trim());
    add("since", utc(field("f-since")));
    add("until", utc(field("f-until")));
    if ($("f-errors").checked) filters.set("errors_only", "true");
    return filters;
  }

  /**
   * A table cell. ARNs and host names may also wrap after `:`, `/` or `.`, so that a narrow
   * column breaks them where a person would rather than in the middle of a name.
   */
  function cell(text, className) {
    const td = document.createElement("td");
    for (const part of (text || "").split(/(?<=[:/.])/)) {
      if (td.firstChild) td.append(document.createElement("wbr"));
      td.append(part);
    }
    if (className) td.className = className;
    return td;
  }

  /** A cell whose parts never wrap inside themselves, only between each other. */
  function wholeCell(...parts) {
    const td = document.createElement("td");
    for (const part of parts.filter(Boolean)) {
      const span = document.createElement("span");
      span.className = "whole";
      span.textContent = part;
      if (td.firstChild) td.append(" ");
      td.append(span);
    }
    return td;
  }

  function renderEvents(data, append) {
    const body = $("events-body");
    if (!append) body.replaceChildren();
    for (const e of data.events || []) {
      const tr = document.createElement("tr");
      tr.append(
        wholeCell(...(e.time || "").replace("Z", "").split("T")),
        cell(`${e.name || ""}${e.source ? ` (${e.source})` : ""}`),
        cell(e.user_arn || e.user_type),
        wholeCell(e.region),
        cell(e.source_ip),
        cell(e.error_code, e.error_code ? "bad" : ""));
      body.append(tr);
    }
    const count = body.children.length;
    $("events-table").hidden = count === 0;
    state.cursor = data.next_cursor || null;
    $("events-more").hidden = !state.cursor;
    const scanned = data.scanned || {};
    state.filesRead = (append ? state.filesRead || 0 : 0) + (scanned.files || 0);
    state.skipped = (append ? state.skipped || 0 : 0) + (scanned.skipped_files || 0);
    const skipped = state.skipped
      ? ` ${state.skipped} of them could not be read (corrupt or cut short) and were skipped.`
      : "";
    const read = ` Read ${state.filesRead} log file${state.filesRead === 1 ? "" : "s"}.${skipped}`;
    $("events-status").textContent = count === 0
      ? `No events match.${read}`
      : `Showing ${count} event${count === 1 ? "" : "s"}, newest first.${read}`;
  }

  async function loadEvents(more, button) {
    renderBucketCard();
    if (!state.me || !state.me.cloudtrail_bucket) {
      $("events-status").textContent = "";
      $("events-table").hidden = true;
      $("events-more").hidden = true;
      return;
    }
    if (!more) state.filters = readFilters();
    const query = new URLSearchParams(state.filters);
    if (more && state.cursor) query.set("cursor", state.cursor);
    $("events-status").textContent = "Reading the logs…";
    const call = () => api("GET", `/api/events?${query}`);
    const result = button ? await busy(button, call) : await call();
    if (!result.ok) {
      // Nothing from an earlier bucket or filter may stay on screen under this one's error.
      $("events-status").textContent = "";
      $("events-body").replaceChildren();
      $("events-table").hidden = true;
      $("events-more").hidden = true;
      state.cursor = null;
      state.filesRead = 0;
      return fail(result, "events-form");
    }
    renderEvents(result.data, more);
  }

  // --- Wiring -----------------------------------------------------------------------------

  async function go(name) {
    clearMessages();
    show(name);
    if (name === "connect") renderConnect();
    if (name === "buckets") await loadBuckets();
    if (name === "events") await loadEvents(false);
  }

  async function start() {
    $("signup-form").addEventListener("submit", onSignup);
    $("signin-form").addEventListener("submit", onSignin);
    $("keys-form").addEventListener("submit", onKeys);
    $("role-form").addEventListener("submit", onRole);
    $("buckets-form").addEventListener("submit", onSelect);
    $("buckets-reload").addEventListener("click", () => { clearMessages(); loadBuckets(); });
    $("events-form").addEventListener("submit", (event) => {
      event.preventDefault();
      clearMessages();
      loadEvents(false, event.submitter || event.target.querySelector("button"));
    });
    $("events-more").addEventListener("click", () => loadEvents(true, $("events-more")));
    $("signout").addEventListener("click", onSignout);
    $("tab-role").addEventListener("click", () => selectTab("role"));
    $("tab-keys").addEventListener("click", () => selectTab("keys"));
    for (const button of document.querySelectorAll("[data-go]")) {
      button.addEventListener("click", () => go(button.dataset.go));
    }

    const result = await refreshMe();
    if (result.ok) return route();
    show("signin");
    if (result.code !== "not_signed_in" && result.code !== "session_expired") fail(result);
  }

  start();
})();
