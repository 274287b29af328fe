// The upload page of `egress serve`: plain JS, no library, nothing fetched from elsewhere.
// Every text from the server (capture names, errors, diagnoses) goes into the page with textContent,
// never as markup. The token is asked for once and kept in sessionStorage (this tab only).
(function () {
  "use strict";

  var API = "/api/v1";
  var TOKEN_KEY = "egress-token";
  var CHUNK = 8 * 1024 * 1024; // bytes per tus PATCH: a cut costs at most this much again
  var RETRIES = 8;
  var POLL_MS = 400;

  function $(id) { return document.getElementById(id); }

  function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

  function headers(extra) {
    var h = { "Authorization": "Bearer " + token() };
    for (var k in extra || {}) { h[k] = extra[k]; }
    return h;
  }

  function api(path, options) {
    options = options || {};
    options.headers = headers(options.headers);
    return fetch(path, options);
  }

  async function errorLine(response) {
    try {
      var body = await response.json();
      return body.error || ("HTTP " + response.status);
    } catch (e) {
      return "HTTP " + response.status;
    }
  }

  function say(text, bad) {
    var m = $("message");
    m.textContent = text;
    m.className = bad ? "error" : "";
  }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }

  function megabytes(n) { return (n / 1e6).toFixed(1) + " MB"; }

  // UTF-8 text to base64, for tus Upload-Metadata.
  function b64(text) {
    var bytes = new TextEncoder().encode(text);
    var s = "";
    for (var i = 0; i < bytes.length; i++) { s += String.fromCharCode(bytes[i]); }
    return btoa(s);
  }

  // Sign-in: the token is checked by asking for the allowlists, which the page needs anyway.
  async function signIn() {
    var r = await api(API + "/allowlists");
    if (r.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin("That token is not accepted here.");
      return;
    }
    // The allowlists are in the list before the page shows it: a choice made at once is never overwritten
    // by the server's default arriving a moment later.
    fillAllowlists(await r.json());
    $("login").hidden = true;
    $("app").hidden = false;
    await loadHistory();
  }

  function showLogin(problem) {
    $("app").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = problem || "";
    $("token").focus();
  }

  function fillAllowlists(lists) {
    var select = $("allowlist");
    while (select.options.length > 1) { select.remove(1); }
    lists.server.forEach(function (name) {
      var o = el("option", name);
      o.value = name;
      select.appendChild(o);
    });
    lists.mine.forEach(function (a) {
      var o = el("option", a.name + " (mine, " + a.entries + " entries)");
      o.value = a.id;
      select.appendChild(o);
    });
    if (lists.server.length === 1) { select.value = lists.server[0]; }
  }

  // Loads overlap (sign-in, then an upload that ends quickly): only the newest one's answer is shown, and
  // it replaces the rows in one step, so two answers never mix or show an older list over a newer one.
  var historyAsked = 0;

  async function loadHistory() {
    var asked = ++historyAsked;
    var r = await api(API + "/captures");
    if (!r.ok) { return; }
    var captures = (await r.json()).captures;
    if (asked !== historyAsked) { return; }
    var rows = [];
    captures.forEach(function (c) {
      var tr = el("tr", null, c.status === "failed" ? "failed" : "");
      tr.appendChild(el("td", c.name, "name"));
      tr.appendChild(el("td", new Date(c.created * 1000).toLocaleString()));
      tr.appendChild(el("td", c.status === "failed" ? "failed: " + c.error : c.status));
      tr.appendChild(el("td", c.packets === null ? "" : c.packets.toLocaleString(), "n"));
      tr.appendChild(el("td", c.counts ? c.counts.destinations : "", "n"));
      tr.appendChild(el("td", c.counts ? c.counts.blocked : "", "n"));
      var td = el("td");
      if (c.status === "done") {
        var b = el("button", "Show");
        b.type = "button";
        b.addEventListener("click", function () { show(c.status_url); });
        td.appendChild(b);
      }
      tr.appendChild(td);
      rows.push(tr);
    });
    $("history-rows").replaceChildren.apply($("history-rows"), rows);
  }

  // An allowlist file of one's own goes up first; its id is what the capture upload names.
  async function chosenAllowlist() {
    var file = $("allowlist-file").files[0];
    if (!file) { return $("allowlist").value; }
    var r = await api(API + "/allowlists?name=" + encodeURIComponent(file.name), { method: "POST", body: file });
    if (!r.ok) { throw new Error(file.name + ": " + (await errorLine(r))); }
    return (await r.json()).id;
  }

  function request(method, url, extra, body, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url);
      var h = headers(extra);
      for (var k in h) { xhr.setRequestHeader(k, h[k]); }
      if (onProgress) { xhr.upload.onprogress = function (e) { onProgress(e.loaded); }; }
      xhr.onload = function () { resolve(xhr); };
      xhr.onerror = function () { reject(new Error("connection lost")); };
      xhr.send(body === undefined ? null : body);
    });
  }

  function bodyError(xhr) {
    try { return JSON.parse(xhr.responseText).error; } catch (e) { return "HTTP " + xhr.status; }
  }

  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  // tus 1.0: create (or find again after a reload), then PATCH chunk by chunk; a cut resumes at HEAD's offset.
  async function upload(file, allowlist, dialect, profile) {
    var resumeKey = "egress-upload:" + [file.name, file.size, file.lastModified, allowlist, dialect, profile].join(":");
    var url = sessionStorage.getItem(resumeKey);
    var offset = 0;
    if (url) {
      var head = await request("HEAD", url, { "Tus-Resumable": "1.0.0" });
      if (head.status === 200) { offset = Number(head.getResponseHeader("Upload-Offset")); } else { url = null; }
    }
    if (!url) {
      var meta = "name " + b64(file.name) + ",dialect " + b64(dialect) + (allowlist ? ",allowlist " + b64(allowlist) : "") +
        (profile ? ",profile " + b64(profile) : "");
      var made = await request("POST", API + "/uploads", {
        "Tus-Resumable": "1.0.0", "Upload-Length": String(file.size), "Upload-Metadata": meta
      });
      if (made.status !== 201) { throw new Error(bodyError(made)); }
      url = made.getResponseHeader("Location");
      sessionStorage.setItem(resumeKey, url);
    }
    var failures = 0;
    var started = performance.now();
    for (;;) {
      var end = Math.min(offset + CHUNK, file.size);
      var from = offset;
      var xhr;
      try {
        xhr = await request("PATCH", url, {
          "Tus-Resumable": "1.0.0", "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream"
        }, file.slice(offset, end), function (loaded) { uploadBar(from + loaded, file.size, started); });
      } catch (e) {
        if (++failures > RETRIES) { throw new Error("upload cut " + RETRIES + " times; choose the file again to resume"); }
        say("Connection lost; resuming in " + failures + " s…");
        await sleep(1000 * failures);
        var again = await request("HEAD", url, { "Tus-Resumable": "1.0.0" });
        if (again.status !== 200) { sessionStorage.removeItem(resumeKey); throw new Error(bodyError(again)); }
        offset = Number(again.getResponseHeader("Upload-Offset"));
        continue;
      }
      if (xhr.status !== 204) {
        sessionStorage.removeItem(resumeKey);
        throw new Error(bodyError(xhr));
      }
      failures = 0;
      offset = Number(xhr.getResponseHeader("Upload-Offset"));
      uploadBar(offset, file.size, started);
      var status = xhr.getResponseHeader("Egress-Status-Url");
      if (status) {
        sessionStorage.removeItem(resumeKey);
        return status;
      }
    }
  }

  function uploadBar(done, size, started) {
    $("upload-progress").value = size ? done / size : 1;
    var seconds = (performance.now() - started) / 1000;
    var rate = seconds > 0 ? " at " + megabytes(done / seconds) + "/s" : "";
    $("upload-text").textContent = megabytes(done) + " of " + megabytes(size) + rate;
  }

  async function follow(statusUrl) {
    for (;;) {
      var r = await api(statusUrl);
      if (!r.ok) { throw new Error(await errorLine(r)); }
      var c = await r.json();
      $("analysis-progress").value = c.progress.fraction;
      $("analysis-text").textContent = c.status + (c.status === "running" ? ", " + Math.round(100 * c.progress.fraction) + "%" : "");
      if (c.status === "done") { return c; }
      if (c.status === "failed") { throw new Error(c.error); }
      await sleep(POLL_MS);
    }
  }

  async function start(file) {
    if (!file) { return; }
    $("result").hidden = true;
    $("analysis-progress").value = 0;
    $("analysis-text").textContent = "";
    $("upload-progress").value = 0;
    say("Uploading " + file.name + "…");
    try {
      var allowlist = await chosenAllowlist();
      var statusUrl = await upload(file, allowlist, $("dialect").value, $("profile").value.trim());
      say("Analysing " + file.name + "…");
      var capture = await follow(statusUrl);
      say("");
      showResult(capture);
    } catch (e) {
      say(e.message, true);
    }
    await loadHistory();
  }

  function links(target, entries) {
    target.textContent = "";
    Object.keys(entries).forEach(function (key) {
      var a = el("a", key);
      a.href = entries[key] + "&download=1";
      a.setAttribute("download", "");
      target.appendChild(a);
    });
  }

  function showResult(c) {
    $("result").hidden = false;
    $("result-title").textContent = c.name + ": " + (c.packets || 0).toLocaleString() + " packets, " +
      c.counts.destinations + " destinations, " + c.counts.blocked + " blocked";
    var lines = $("diagnosis-lines");
    lines.textContent = "";
    c.diagnosis.forEach(function (line) { lines.appendChild(el("li", line)); });
    $("diagnosis").hidden = c.diagnosis.length === 0;
    showDrift(c.drift, c.drift_error);
    links($("report-links"), c.downloads.report);
    links($("export-links"), c.downloads.export);
    $("report").src = c.downloads.report.html;
  }

  // A listed capture's status (with its drift) is fetched when it is shown: the list leaves the drift out.
  async function show(statusUrl) {
    var r = await api(statusUrl);
    if (!r.ok) { say(await errorLine(r), true); return; }
    showResult(await r.json());
  }

  // What the upload changed against its profile's nightly baseline: one row per drift item, all text.
  function showDrift(drift, problem) {
    $("drift-error").hidden = !problem;
    $("drift-error").textContent = problem ? "No drift: " + problem : "";
    $("drift").hidden = !drift;
    if (!drift) { return; }
    var nights = drift.baseline.length === 1 ? "1 night" : drift.baseline.length + " nights";
    $("drift-title").textContent = "Against the nightly baseline of " + drift.profile + " (" + nights + ", " +
      drift.baseline_state + ")";
    var rows = $("drift-rows");
    rows.textContent = "";
    drift.items.forEach(function (item) {
      var tr = el("tr", null, "drift-" + item["class"]);
      tr.appendChild(el("td", item["class"]));
      tr.appendChild(el("td", item.name, "name"));
      tr.appendChild(el("td", item.ports.join(" ")));
      tr.appendChild(el("td", item.verdict || ""));
      tr.appendChild(el("td", item.previous_verdict || ""));
      tr.appendChild(el("td", item.status || ""));
      rows.appendChild(tr);
    });
    $("drift-none").hidden = drift.items.length > 0;
    $("drift-table").hidden = drift.items.length === 0;
  }

  function wire() {
    $("login-form").addEventListener("submit", function (e) {
      e.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
      $("token").value = "";
      signIn();
    });
    $("logout").addEventListener("click", function () {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin("");
    });
    $("file").addEventListener("change", function () { start($("file").files[0]); });
    var drop = $("drop");
    drop.addEventListener("dragover", function (e) { e.preventDefault(); drop.className = "over"; });
    drop.addEventListener("dragleave", function () { drop.className = ""; });
    drop.addEventListener("drop", function (e) {
      e.preventDefault();
      drop.className = "";
      if (e.dataTransfer.files.length) { start(e.dataTransfer.files[0]); }
    });
    drop.addEventListener("keydown", function (e) { if (e.key === "Enter") { $("file").click(); } });
  }

  wire();
  if (token()) { signIn(); } else { showLogin(""); }
})();
