// gridroll scanner: decides every scan on the phone, queues it in IndexedDB, and syncs when it can.
// The sampler never waits for the server (docs/algorithms/scan.md draws the rules).
(function () {
  "use strict";

  const TUBE = /^[A-Z0-9]{8,20}$/;
  const SEEN_MS = 2500;  // a code still in view: ignored until it has been out of sight this long
  const GUN_GAP_MS = 50;  // a scanner gun's keys come faster than this apart (the median gap); people's do not
  const GUN_PAUSE_MS = 300;  // a longer pause between keys starts a new code
  const GUN_MIN = 6;
  const $ = (id) => document.getElementById(id);
  // The page's language: scanner_text.py hands over the table (Chinese when nothing is there).
  const TEXT = (function () { try { return JSON.parse($("scanner-text").textContent); } catch (e) { return {}; } })();
  const tr = (s) => TEXT[s] || s;
  const fmt = (s, values) => tr(s).replace(/\{(\w+)\}/g, (m, k) => (values[k] == null ? "" : values[k]));
  const USER = document.body.dataset.user || "";
  const forgetter = window.gridrollForget;

  // Another user on this phone: forget the previous user's roster, keys and tube (issue 13). Their
  // queued scans stay, marked with their user, and wait for them.
  if (localStorage.getItem("gr.user") !== USER) {
    if (forgetter) forgetter.forgetData();
    localStorage.setItem("gr.user", USER);
  }
  const load = (key, fallback) => { try { return JSON.parse(localStorage.getItem(key)) || fallback; } catch (e) { return fallback; } };

  const state = {
    config: load("gr.config", null),
    tube: load("gr.tube", null),
    sealed: new Set(load("gr.sealed", [])),
    counts: load("gr.counts", { day: "", people: 0, tubes: 0 }),
    keys: load("gr.keys", []),
    revoked: new Set(load("gr.revoked", [])),
    roster: load("gr.roster", {}),
    sampled: load("gr.sampled", { round: null, keys: {} }),  // person key → tube, this round, this phone
    answers: load("gr.answers", []),  // the server's warned and refused answers
    lastSync: load("gr.lastSync", null),
    online: navigator.onLine,
    pending: 0,
    otherPending: 0,
  };
  const sightings = new Map();  // text → when the camera last saw it
  const deviceId = localStorage.getItem("gr.device") || (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()));
  localStorage.setItem("gr.device", deviceId);

  function save() {
    localStorage.setItem("gr.config", JSON.stringify(state.config));
    localStorage.setItem("gr.tube", JSON.stringify(state.tube));
    localStorage.setItem("gr.sealed", JSON.stringify([...state.sealed].slice(-500)));
    localStorage.setItem("gr.counts", JSON.stringify(state.counts));
    localStorage.setItem("gr.sampled", JSON.stringify(state.sampled));
    localStorage.setItem("gr.answers", JSON.stringify(state.answers.slice(-50)));
    localStorage.setItem("gr.lastSync", JSON.stringify(state.lastSync));
  }

  // ---------------------------------------------------------------------------------- the queue (IndexedDB)
  // Each action carries its user: a phone shared by two samplers sends each one's scans under their own
  // login, and never drops the other's.
  let dbPromise = null;
  function db() {
    if (!dbPromise) {
      dbPromise = new Promise((resolve, reject) => {
        const req = indexedDB.open("gridroll-scanner", 1);
        req.onupgradeneeded = () => req.result.createObjectStore("queue", { keyPath: "seq", autoIncrement: true });
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    }
    return dbPromise;
  }
  function tx(mode, fn) {
    return db().then((d) => new Promise((resolve, reject) => {
      const t = d.transaction("queue", mode);
      const result = fn(t.objectStore("queue"));
      t.oncomplete = () => resolve(result && result.result !== undefined ? result.result : result);
      t.onerror = () => reject(t.error);
    }));
  }
  const mine = (a) => String(a.user == null ? USER : a.user) === USER;  // queued before users were recorded: ours
  function enqueue(a) {
    return tx("readwrite", (s) => s.add(a)).then(refreshPending);
  }
  function scanQueue(fn) {
    return db().then((d) => new Promise((resolve) => {
      d.transaction("queue").objectStore("queue").openCursor().onsuccess = (e) => {
        const cur = e.target.result;
        if (cur && fn(cur.value) !== false) cur.continue(); else resolve();
      };
    }));
  }
  async function peek(n) {
    const out = [];
    await scanQueue((a) => { if (mine(a)) out.push(a); return out.length < n; });
    return out;
  }
  function drop(seqs) {
    return tx("readwrite", (s) => seqs.forEach((k) => s.delete(k))).then(refreshPending);
  }
  async function refreshPending() {
    let own = 0, other = 0;
    await scanQueue((a) => { if (mine(a)) own += 1; else other += 1; });
    state.pending = own; state.otherPending = other;
    render();
  }

  // ------------------------------------------------------------------------------------ local checks
  const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  function base32(text) {
    let bits = 0, value = 0;
    const out = [];
    for (const ch of text) {
      const i = B32.indexOf(ch);
      if (i < 0) return null;
      value = (value << 5) | i; bits += 5;
      if (bits >= 8) { out.push((value >>> (bits - 8)) & 255); bits -= 8; }
    }
    return new Uint8Array(out);
  }
  const DOMAIN = new TextEncoder().encode("gridroll-personal-code-v1");
  const keyCache = {};
  async function verifyCode(text) {
    // Same rules as the server's check_code, with what the phone synced: keys, revocations, roster.
    text = text.trim().toUpperCase();
    const raw = text.startsWith("GR") ? base32(text.slice(2)) : null;
    if (!raw || raw.length !== 72) return { status: "forged" };
    const keyId = raw[1];
    const serial = ((raw[2] << 24) | (raw[3] << 16) | (raw[4] << 8) | raw[5]) >>> 0;
    const key = state.keys.find((k) => k.key_id === keyId);
    if (!key) return { status: "forged" };
    if (key.state === "retired") return { status: "revoked" };
    try {
      if (!keyCache[keyId]) {
        const bytes = Uint8Array.from(atob(key.public_key), (c) => c.charCodeAt(0));
        keyCache[keyId] = await crypto.subtle.importKey("raw", bytes, { name: "Ed25519" }, false, ["verify"]);
      }
      const signed = new Uint8Array(DOMAIN.length + 8);
      signed.set(DOMAIN); signed.set(raw.slice(0, 8), DOMAIN.length);
      const ok = await crypto.subtle.verify({ name: "Ed25519" }, keyCache[keyId], raw.slice(8), signed);
      if (!ok) return { status: "forged" };
    } catch (e) {
      // A browser without Ed25519 in WebCrypto: accept for now, the server checks on upload.
      return { status: "unchecked", serial: serial, person: state.roster[serial] };
    }
    if (state.revoked.has(serial)) return { status: "revoked" };
    return { status: "valid", serial: serial, person: state.roster[serial] };
  }

  // ---------------------------------------------------------------------------------------- actions
  function today() { return new Date().toISOString().slice(0, 10); }
  function action(kind, extra, shown) {
    const c = state.config;
    return Object.assign({
      nonce: crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random(),
      device_id: deviceId, device_time: new Date().toISOString(), kind: kind, round_id: c.roundId,
      site_id: c.siteId, station_id: c.stationId, tube: state.tube ? state.tube.barcode : "",
      decided_offline: !state.online,
      // Kept on the phone only (stripped before upload): whose scan it is, and the masked name to show
      // beside the server's answer.
      user: USER, name: shown || "",
    }, extra || {});
  }
  function feedback(kind, text) {
    const el = $("last");
    el.className = "last " + kind;
    el.textContent = text;
    if (kind === "ok" || kind === "warn") beep(kind === "ok" ? 880 : 440);
    else beep(220);
    if (navigator.vibrate) navigator.vibrate(kind === "ok" ? 60 : [80, 60, 80]);
  }
  let audio = null;
  function beep(freq) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = freq; o.connect(g); g.connect(audio.destination);
      g.gain.value = 0.15; o.start(); o.stop(audio.currentTime + 0.12);
    } catch (e) { /* no sound: the colour still tells */ }
  }
  function countToday(field, delta) {
    if (state.counts.day !== today()) state.counts = { day: today(), people: 0, tubes: 0 };
    state.counts[field] = Math.max(0, state.counts[field] + (delta || 1));
  }
  function sampledThisRound() {
    if (state.sampled.round !== state.config.roundId) state.sampled = { round: state.config.roundId, keys: {} };
    return state.sampled.keys;
  }

  async function openTube(barcode) {
    barcode = barcode.trim().toUpperCase();
    if (!TUBE.test(barcode)) return feedback("bad", tr("Not a tube barcode: scan it again"));
    if (state.tube && state.tube.barcode === barcode && state.tube.status === "open") return;  // same tube again
    if (state.sealed.has(barcode)) return feedback("bad", tr("This tube is closed: take a new one"));
    if (state.tube && state.tube.status === "open" && state.tube.people.length > 0) await seal();
    // 单管复核: a retest is one person per tube, whatever the area's pool mode.
    const single = $("single") && $("single").checked;
    state.tube = { barcode: barcode, status: "open", capacity: single ? 1 : state.config.capacity, people: [], single: single };
    await enqueue(action("open_tube", single ? { pool_mode: "single" } : {}));
    countToday("tubes");
    save(); render();
    feedback("ok", tr("Opened ") + barcode);
  }

  // who: {key, label, name, household} — key is the same for a person scanned by code or picked by name.
  async function addPerson(extra, who) {
    const t = state.tube;
    const open = !!t && t.status === "open";
    const earlier = sampledThisRound()[who.key];
    if (open && t.people.some((p) => p.key === who.key)) return feedback("warn", who.label + tr(" is already in this tube"));
    if (!open) {
      // The last person of a tube that closed itself, seen again: where they are, not an error.
      if (earlier) return feedback("warn", fmt("{name} is already in tube {tube}", { name: who.label, tube: earlier }));
      return feedback("bad", tr("Scan a tube first"));
    }
    if (t.people.length >= t.capacity) return feedback("bad", tr("This tube is full: close it"));
    if (state.config.poolMode === "household" && !t.single && who.household != null) {
      const other = t.people.find((p) => p.household != null && p.household !== who.household);
      if (other) return feedback("bad", fmt("{name}: 1 tube per household, not of this household", { name: who.label }));
    }
    const data = Object.assign({}, extra);
    await enqueue(action("add", data, who.name));
    t.people.push({ key: who.key, label: who.label, household: who.household });
    sampledThisRound()[who.key] = t.barcode;
    countToday("people");
    if (t.people.length >= t.capacity && (t.single || state.config.poolMode !== "household")) {
      t.status = "sealed"; state.sealed.add(t.barcode);  // the server closes it too
    }
    save(); render();
    if (earlier && earlier !== t.barcode) {
      // Decided on the phone, shown at once; the server records it the same way (warned, already_sampled).
      return feedback("warn", fmt("{name} was already sampled this round (tube {tube}): recorded; undo if not needed", { name: who.label, tube: earlier }));
    }
    feedback("ok", who.label + (t.status === "sealed" ? tr(" · full, closed by itself") : ""));
  }

  function describe(p) {
    return p.masked_name + " " + (p.age == null ? "" : p.age + tr("y ")) + (p.sex === "M" ? tr("M") : p.sex === "F" ? tr("F") : "");
  }

  async function scanPerson(text) {
    const check = await verifyCode(text);
    if (check.status === "forged") return feedback("bad", tr("Not a valid personal code"));
    if (check.status === "revoked") return feedback("bad", tr("This code was revoked: show a new one, or enter the ID number"));
    const p = check.person;
    const who = p
      ? { key: "r" + p.resident_id, label: describe(p), name: p.masked_name, household: p.household_id }
      : { key: "s" + check.serial, label: tr("from another area (checked at sync)"), name: "", household: null };
    await addPerson({ code: text.trim() }, who);
  }

  async function seal() {
    const t = state.tube;
    if (!t || t.status !== "open") return;
    if (t.people.length === 0) return feedback("bad", tr("An empty tube cannot be closed"));
    await enqueue(action("seal"));
    t.status = "sealed"; state.sealed.add(t.barcode);
    save(); render();
    feedback("ok", tr("Closed ") + t.barcode);
  }

  async function undo() {
    const t = state.tube;
    if (!t || t.people.length === 0) return feedback("bad", tr("Nobody to undo"));
    await enqueue(action("undo"));
    const last = t.people.pop();
    const sampled = sampledThisRound();
    if (sampled[last.key] === t.barcode) delete sampled[last.key];
    t.status = "open"; state.sealed.delete(t.barcode);
    countToday("people", -1);
    save(); render();
    feedback("warn", tr("Undone ") + last.label);
  }

  // The check of a resident ID number (GB 11643: 17 digits, a check character, a real birth date); the
  // server checks again (gridroll/lib/idnumber.py).
  function isIdNumber(text) {
    if (!/^[0-9]{17}[0-9X]$/.test(text)) return false;
    const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum = 0;
    for (let i = 0; i < 17; i++) sum += weights[i] * Number(text[i]);
    if ("10X98765432"[sum % 11] !== text[17]) return false;
    const y = Number(text.slice(6, 10)), m = Number(text.slice(10, 12)), d = Number(text.slice(12, 14));
    const born = new Date(y, m - 1, d);
    return y >= 1890 && born.getMonth() === m - 1 && born.getDate() === d && born <= new Date();
  }
  function addByDocument(v) {
    return addPerson({ document_number: v },
      { key: "d" + v, label: tr("ID ") + v.slice(0, 4) + "****" + v.slice(-4) + tr(" (checked at sync)"), name: "", household: null });
  }

  // Every way a code arrives: the camera ("camera"), a scanner gun ("gun") or the keyboard ("typed").
  async function handleText(text, source) {
    text = (text || "").trim();
    if (!text) return;
    if (source === "camera") {
      // De-duplication by last sighting: a code held in view is read many times a second; it counts
      // again only after it has been out of sight for SEEN_MS.
      const now = Date.now(), last = sightings.get(text);
      sightings.set(text, now);
      if (last !== undefined && now - last < SEEN_MS) return;
      if (sightings.size > 200) sightings.forEach((t, k) => { if (now - t > 60000) sightings.delete(k); });
    }
    const upper = text.toUpperCase();
    if (upper.startsWith("GR") && text.length > 100) return scanPerson(text);
    // An ID card's number read by a gun (or typed) is a person, never a tube: an 18-digit number also
    // fits the tube pattern, and opening it as a tube would close the tube in use.
    if (isIdNumber(upper)) return addByDocument(upper);
    if (TUBE.test(upper)) return openTube(upper);
    feedback("bad", tr("Not a code this scanner knows"));
  }

  // ------------------------------------------------------------------------------------------- sync
  function csrf() {
    const m = document.cookie.match(/csrftoken=([^;]+)/);
    return m ? m[1] : "";
  }
  // A server that accepts the connection but never answers (a frozen process, a dead link behind a
  // proxy) must not leave the page saying "online" with the queue stuck: give up after timeoutMs.
  async function api(method, url, body, timeoutMs) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs || 15000);
    try {
      return await fetch(url, {
        method: method, credentials: "same-origin", signal: abort.signal,
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
        body: body ? JSON.stringify(body) : undefined,
      });
    } finally {
      clearTimeout(timer);
    }
  }
  function answer(result, queued) {
    const person = (result.person && result.person.masked_name) || queued.name || "";
    const tube = (result.tube && result.tube.barcode) || queued.tube || "";
    return {
      nonce: result.nonce, result: result.result, reason: result.reason, name: person, tube: tube,
      text: TEXT["reason:" + result.reason] || result.message, at: new Date().toISOString(),
    };
  }
  let syncing = false;
  async function sync() {
    if (syncing) return;
    syncing = true;
    try {
      const batch = await peek(50);
      if (batch.length === 0) { return; }
      let response;
      try {
        response = await api("POST", "/api/sampling/scans/batch", { actions: batch.map(stripLocal) }, 10000);
      } catch (e) { setOnline(false); return; }  // network down: keep everything, try again
      if (response.status >= 500) { setOnline(false); return; }
      if (response.status === 401 || response.status === 403) { setOnline(true, tr("Your login has expired: log in again to go on syncing")); return; }
      setOnline(true);
      if (response.ok) {
        // Every answer that is not a plain "accepted" reaches the screen and the list, with the name.
        const results = await response.json();
        const fresh = [];
        results.forEach((r, i) => { if (r.result !== "accepted" && !r.duplicate) fresh.push(answer(r, batch[i] || {})); });
        state.answers.push(...fresh);
        state.lastSync = new Date().toISOString();
        if (fresh.length) beep(440);
      } else {
        // A 4xx that retrying cannot change: drop it, but say so.
        state.answers.push({ nonce: "", result: "refused", reason: "rejected_batch", name: "", tube: "",
          text: tr("Upload refused (") + response.status + ")", at: new Date().toISOString() });
      }
      save();
      await drop(batch.map((a) => a.seq));
    } finally {
      syncing = false;
      render();
    }
  }
  function stripLocal(a) { const c = Object.assign({}, a); delete c.seq; delete c.user; delete c.name; return c; }
  function setOnline(value, note) {
    state.online = value;
    state.note = note || "";
    render();
  }
  async function refreshData() {
    try {
      const [keys, revoked, rounds] = await Promise.all([
        api("GET", "/api/codes/keys"), api("GET", "/api/codes/revocations"), api("GET", "/api/sampling/rounds"),
      ]);
      if (keys.ok) { state.keys = await keys.json(); localStorage.setItem("gr.keys", JSON.stringify(state.keys)); }
      if (revoked.ok) {
        state.revoked = new Set((await revoked.json()).map((r) => r.serial));
        localStorage.setItem("gr.revoked", JSON.stringify([...state.revoked]));
      }
      if (rounds.ok) { state.rounds = await rounds.json(); localStorage.setItem("gr.rounds", JSON.stringify(state.rounds)); }
      if (state.config) {
        const roster = await api("GET", "/api/sampling/sites/" + state.config.siteId + "/roster");
        if (roster.ok) {
          const data = await roster.json();
          state.roster = {};
          data.people.forEach((p) => { state.roster[p.serial] = p; });
          localStorage.setItem("gr.roster", JSON.stringify(state.roster));
        }
      }
      setOnline(true);
      if (state.pending === 0) { state.lastSync = new Date().toISOString(); save(); }
    } catch (e) { setOnline(false); }
    render();
  }

  // ------------------------------------------------------------------------------------------ screen
  function clock(iso) { return new Date(iso).toTimeString().slice(0, 8); }
  function answerText(a) { return [a.name, a.tube, a.text].filter(Boolean).join(" · "); }
  function render() {
    const c = state.config;
    $("setup").hidden = !!c;
    $("work").hidden = !c;
    $("status").textContent = state.online ? tr("online") : tr("offline");
    $("status").className = "status " + (state.online ? "online" : "offline");
    $("waiting").textContent = state.pending;
    $("synced").textContent = state.lastSync ? tr("synced ") + clock(state.lastSync) : tr("not synced yet");
    $("logout").textContent = tr("Log out") + (state.pending ? "（" + state.pending + tr(" waiting") + "）" : "");
    $("note").textContent = state.note || (state.otherPending ? fmt("{n} scans of another user wait on this phone: they are sent when that user logs in", { n: state.otherPending }) : "");
    if (!c) return renderSetup();
    $("where").textContent = c.roundName + " · " + c.siteName + " · " + c.stationName + " · " + c.capacityLabel;
    const t = state.tube;
    $("tube").textContent = t ? t.barcode + (t.status === "sealed" ? tr(" (closed)") : "") : tr("Scan a tube");
    $("tubecount").textContent = t ? t.people.length + " / " + t.capacity : "";
    $("people").innerHTML = "";
    (t ? t.people : []).forEach((p) => {
      const li = document.createElement("li"); li.textContent = p.label; $("people").appendChild(li);  // <ol> numbers it
    });
    if (state.counts.day !== today()) state.counts = { day: today(), people: 0, tubes: 0 };
    $("today").textContent = tr("This station today: ") + state.counts.people + tr(" people, ") + state.counts.tubes + tr(" tubes");
    $("answers").innerHTML = "";
    state.answers.slice(-2).reverse().forEach((a) => {
      const div = document.createElement("div");
      div.className = "answer " + a.result; div.textContent = tr("Sync: ") + answerText(a); $("answers").appendChild(div);
    });
    $("answer-list").innerHTML = "";
    state.answers.slice(-50).reverse().forEach((a) => {
      const li = document.createElement("li"); li.className = a.result; li.textContent = clock(a.at) + " " + answerText(a); $("answer-list").appendChild(li);
    });
    $("answers-box").hidden = state.answers.length === 0;
    $("roster-hint").textContent = state.online ? "" : tr("Offline the search finds names only (e.g. 王 or 王小霞); a room needs the network");
  }
  function renderSetup() {
    const rounds = state.rounds || load("gr.rounds", []);
    const sel = $("pick-site");
    sel.innerHTML = "";
    rounds.forEach((r) => r.sites.forEach((s) => s.stations.concat(s.stations.length ? [] : [{ id: null, name: "—" }]).forEach((st) => {
      const o = document.createElement("option");
      o.value = JSON.stringify({ roundId: r.id, roundName: r.name, siteId: s.id, siteName: s.name, stationId: st.id,
        stationName: st.name, capacity: s.capacity, poolMode: s.pool_mode,
        capacityLabel: { single: tr("single tube"), household: tr("1 tube per household"), pool10: tr("10-in-1"), pool20: tr("20-in-1") }[s.pool_mode] });
      o.textContent = r.name + " · " + s.name + " · " + st.name;
      sel.appendChild(o);
    })));
    $("setup-empty").hidden = rounds.length > 0;
  }

  // ------------------------------------------------------------------------------ roster search
  // The phone holds names masked and no addresses: offline it finds people by name (the surname, or the
  // whole name against the masked one); a room ("2单元501", "1-1-101") is looked up on the server.
  function nameMatches(masked, q) {
    if (!/[\u4e00-\u9fff]/.test(q)) return false;
    if (q === masked) return true;
    if (q.length === 1) return masked[0] === q;
    return masked.length === q.length && masked[0] === q[0] && masked[masked.length - 1] === q[q.length - 1];
  }
  function showResults(people) {
    const list = $("roster-results");
    list.innerHTML = "";
    people.slice(0, 20).forEach((p) => {
      const b = document.createElement("button");
      b.type = "button"; b.className = "secondary";
      b.textContent = describe(p) + (p.household ? " · " + p.household : "");
      b.onclick = () => addPerson({ resident_id: p.resident_id },
        { key: "r" + p.resident_id, label: p.masked_name + tr(" (roster)"), name: p.masked_name, household: p.household_id });
      list.appendChild(b);
    });
  }
  function searchOffline(q) {
    showResults(Object.values(state.roster).filter((p) => nameMatches(p.masked_name, q)));
  }
  let lookupTimer = null;
  async function searchOnline(q) {
    try {
      const r = await api("GET", "/api/sampling/sites/" + state.config.siteId + "/lookup?q=" + encodeURIComponent(q));
      if (!r.ok) throw new Error(String(r.status));
      const data = await r.json();
      if ($("roster-input").value.trim() === q) showResults(data.people);
    } catch (e) {
      setOnline(false);
      searchOffline(q);
    }
  }

  // ------------------------------------------------------------------------------------------ camera
  // zxing-cpp (WebAssembly) behind the BarcodeDetector interface: personal codes (QR) and tube labels
  // (Code 128, Code 39) in one decoder. Its .wasm is one of the files the service worker precaches.
  let detector = null;
  function getDetector() {
    if (!detector) {
      const lib = window.BarcodeDetectionAPI;
      const wasm = document.body.dataset.wasm;
      lib.prepareZXingModule({ overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? wasm : prefix + path) } });
      detector = new lib.BarcodeDetector({ formats: ["qr_code", "code_128", "code_39"] });
    }
    return detector;
  }
  let camera = null;
  const frame = document.createElement("canvas");
  const frameCtx = frame.getContext("2d", { willReadFrequently: true });
  async function startCamera() {
    if (camera) return;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return noCamera("insecure");
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false });
    } catch (e) { return noCamera(e && e.name); }
    const video = $("video");
    video.hidden = false;
    video.srcObject = stream;
    video.play().catch(() => {});
    camera = { stream: stream };
    $("camera").textContent = tr("Camera off");
    look();
  }
  async function look() {
    if (!camera) return;
    const v = $("video");
    if (v.readyState >= 2 && v.videoWidth) {
      // At most 960 px on the long side: a code at arm's length still has 3+ px per module.
      const scale = Math.min(1, 960 / Math.max(v.videoWidth, v.videoHeight));
      frame.width = Math.round(v.videoWidth * scale); frame.height = Math.round(v.videoHeight * scale);
      frameCtx.drawImage(v, 0, 0, frame.width, frame.height);
      try {
        const codes = await getDetector().detect(frameCtx.getImageData(0, 0, frame.width, frame.height));
        for (const c of codes) await handleText(c.rawValue, "camera");
      } catch (e) { if (window.console) console.warn("decoder", e); }
    }
    if (camera) setTimeout(look, 100);
  }
  function stopCamera() {
    if (!camera) return;
    camera.stream.getTracks().forEach((t) => t.stop());
    camera = null;
    $("video").srcObject = null;
    $("camera").textContent = tr("Camera on");
  }
  function noCamera(name, quiet) {
    // The camera-less path: say why in the user's language, put the scanner gun and manual entry first.
    const why = { NotAllowedError: "The camera permission was refused", SecurityError: "The camera permission was refused", NotFoundError: "No camera found",
      OverconstrainedError: "No camera found", NotReadableError: "Another app is using the camera", AbortError: "Another app is using the camera",
      insecure: "This page cannot use the camera", none: "No camera found" }[name] || "Cannot open the camera";
    // Only a page that is not a secure context (http:// on a LAN address) needs HTTPS for the camera.
    const hint = window.isSecureContext ? "" : tr(" (over the local network the page needs HTTPS)");
    const text = tr(why) + tr(": use a scanner gun or type it in") + hint;
    $("video").hidden = true;
    $("manual").open = true;
    if (quiet) { $("last").className = "last warn"; $("last").textContent = text; } else feedback("warn", text);
  }
  function toggleCamera() {
    if (camera) stopCamera(); else startCamera();
  }

  // ------------------------------------------------------------------------------------- scanner gun
  // A handheld scanner (USB or Bluetooth) is a keyboard that types a code and Enter within milliseconds.
  // Six or more keys whose median gap is under GUN_GAP_MS, with no pause over GUN_PAUSE_MS, ending in
  // Enter, are a scan wherever the focus is (the characters a focused field caught are taken back out of
  // it); slower typing is left alone.
  // One slow gap (a busy phone, a Bluetooth hiccup) does not make a scan typing: the median gap decides.
  // Pure, so that its rule can be tried with exact timings: keys is [[character, time in ms], ...], the
  // last one the latest; the answer is the scanned text, or "" when this was a person typing.
  function gunText(keys, enterAt) {
    if (keys.length < GUN_MIN || enterAt - keys[keys.length - 1][1] > GUN_PAUSE_MS) return "";
    const gaps = keys.slice(1).map((k, i) => k[1] - keys[i][1]).sort((a, b) => a - b);
    const median = (gaps[(gaps.length - 1) >> 1] + gaps[gaps.length >> 1]) / 2;
    return median < GUN_GAP_MS ? keys.map((k) => k[0]).join("") : "";
  }
  let gunKeys = [];
  function onKey(e) {
    const now = performance.now();
    if (e.key === "Enter") {
      const text = gunText(gunKeys, now);
      gunKeys = [];
      if (!text) return;
      e.preventDefault(); e.stopPropagation();
      const el = document.activeElement;
      if (el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA") && el.value.endsWith(text)) {
        el.value = el.value.slice(0, el.value.length - text.length);
      }
      if (state.config) handleText(text, "gun");
      return;
    }
    if (e.key.length !== 1 || e.ctrlKey || e.metaKey || e.altKey) return;
    const last = gunKeys.length ? gunKeys[gunKeys.length - 1][1] : -Infinity;
    if (now - last > GUN_PAUSE_MS) gunKeys = [];
    gunKeys.push([e.key, now]);
  }

  // ------------------------------------------------------------------------------------------- wiring
  async function logout(e) {
    // Forget the roster, keys and cached files first (issue 13); queued scans stay for this user.
    e.preventDefault();
    stopCamera();
    try { if (forgetter) await forgetter.forget(); } finally { $("logout-form").submit(); }
  }
  function bind() {
    $("start").onclick = () => {
      const value = $("pick-site").value;
      if (!value) return;
      state.config = JSON.parse(value); save(); refreshData(); render();
    };
    $("change").onclick = () => { state.config = null; save(); render(); };
    $("camera").onclick = toggleCamera;
    $("seal").onclick = seal;
    $("undo").onclick = undo;
    $("logout").onclick = logout;
    document.addEventListener("keydown", onKey, true);
    $("manual-tube").onsubmit = (e) => { e.preventDefault(); handleText($("tube-input").value, "typed"); $("tube-input").value = ""; };
    $("manual-doc").onsubmit = (e) => {
      e.preventDefault();
      const v = $("doc-input").value.trim().toUpperCase();
      if (v) addByDocument(v);
      $("doc-input").value = "";
    };
    $("roster-input").oninput = () => {
      const q = $("roster-input").value.trim();
      clearTimeout(lookupTimer);
      $("roster-results").innerHTML = "";
      if (!q || !state.config) return;
      if (state.online) lookupTimer = setTimeout(() => searchOnline(q), 250); else searchOffline(q);
    };
    window.addEventListener("online", () => { setOnline(true); sync(); });
    window.addEventListener("offline", () => setOnline(false));
    setInterval(sync, 2000);
    setInterval(() => { if (state.online) refreshData(); }, 60000);
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) noCamera("insecure", true);
    else navigator.mediaDevices.enumerateDevices().then((ds) => { if (!ds.some((d) => d.kind === "videoinput")) noCamera("none", true); }).catch(() => {});
  }

  window.gridrollScanner = { state: state, handleText: handleText, gunText: gunText, sync: sync, pending: () => state.pending, startCamera: startCamera, stopCamera: stopCamera };

  function start() {
    bind();
    render();
    refreshPending();
    refreshData();
    if ("serviceWorker" in navigator) navigator.serviceWorker.register("/scan/sw.js", { scope: "/scan/" }).catch(() => {});
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
