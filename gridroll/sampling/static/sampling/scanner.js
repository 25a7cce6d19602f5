// gridroll scanner: decides every scan on the phone, queues it in IndexedDB, and syncs when it can.
// The sampler never waits for the server (docs/algorithms/scan.md draws the rules).
(function () {
  "use strict";

  const TUBE = /^[A-Z0-9]{8,20}$/;
  const $ = (id) => document.getElementById(id);
  // The page's language: scanner_text.py hands over the table (Chinese when nothing is there).
  const TEXT = (function () { try { return JSON.parse($("scanner-text").textContent); } catch (e) { return {}; } })();
  const tr = (s) => TEXT[s] || s;
  const state = {
    config: JSON.parse(localStorage.getItem("gr.config") || "null"),
    tube: JSON.parse(localStorage.getItem("gr.tube") || "null"),
    sealed: new Set(JSON.parse(localStorage.getItem("gr.sealed") || "[]")),
    counts: JSON.parse(localStorage.getItem("gr.counts") || '{"day":"","people":0,"tubes":0}'),
    keys: JSON.parse(localStorage.getItem("gr.keys") || "[]"),
    revoked: new Set(JSON.parse(localStorage.getItem("gr.revoked") || "[]")),
    roster: JSON.parse(localStorage.getItem("gr.roster") || "{}"),
    online: navigator.onLine,
    pending: 0,
    refused: JSON.parse(localStorage.getItem("gr.refused") || "[]"),
    lastText: "",
    lastTime: 0,
  };
  const deviceId = localStorage.getItem("gr.device") || (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()));
  localStorage.setItem("gr.device", deviceId);

  function save() {
    localStorage.setItem("gr.config", JSON.stringify(state.config));
    localStorage.setItem("gr.tube", JSON.stringify(state.tube));
    localStorage.setItem("gr.sealed", JSON.stringify([...state.sealed].slice(-500)));
    localStorage.setItem("gr.counts", JSON.stringify(state.counts));
    localStorage.setItem("gr.refused", JSON.stringify(state.refused.slice(-50)));
  }

  // ---------------------------------------------------------------------------------- the queue (IndexedDB)
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
  function enqueue(action) {
    return tx("readwrite", (s) => s.add(action)).then(refreshPending);
  }
  function peek(n) {
    return db().then((d) => new Promise((resolve) => {
      const out = [];
      d.transaction("queue").objectStore("queue").openCursor().onsuccess = (e) => {
        const cur = e.target.result;
        if (cur && out.length < n) { out.push(cur.value); cur.continue(); } else resolve(out);
      };
    }));
  }
  function drop(seqs) {
    return tx("readwrite", (s) => seqs.forEach((k) => s.delete(k))).then(refreshPending);
  }
  function refreshPending() {
    return tx("readonly", (s) => s.count()).then((n) => { state.pending = n; render(); });
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
  function action(kind, extra) {
    const c = state.config;
    return Object.assign({
      nonce: crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random(),
      device_id: deviceId, device_time: new Date().toISOString(), kind: kind, round_id: c.roundId,
      site_id: c.siteId, station_id: c.stationId, tube: state.tube ? state.tube.barcode : "",
      decided_offline: !state.online,
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
  function countToday(field) {
    if (state.counts.day !== today()) state.counts = { day: today(), people: 0, tubes: 0 };
    state.counts[field] += 1;
  }

  async function openTube(barcode) {
    barcode = barcode.trim().toUpperCase();
    if (!TUBE.test(barcode)) return feedback("bad", tr("管码格式不对，请重扫"));
    if (state.tube && state.tube.barcode === barcode && state.tube.status === "open") return;  // same tube again
    if (state.sealed.has(barcode)) return feedback("bad", tr("此管已封管，请换新管"));
    if (state.tube && state.tube.status === "open" && state.tube.people.length > 0) await seal();
    // 单管复核: a retest is one person per tube, whatever the area's pool mode.
    const single = $("single") && $("single").checked;
    state.tube = { barcode: barcode, status: "open", capacity: single ? 1 : state.config.capacity, people: [], single: single };
    await enqueue(action("open_tube", single ? { pool_mode: "single" } : {}));
    countToday("tubes");
    save(); render();
    feedback("ok", tr("已开管 ") + barcode);
  }

  async function addPerson(extra, label) {
    const t = state.tube;
    if (!t || t.status !== "open") return feedback("bad", tr("请先扫管码"));
    if (t.people.length >= t.capacity) return feedback("bad", tr("此管已满，请封管"));
    const key = extra.serial ? "s" + extra.serial : extra.resident_id ? "r" + extra.resident_id : "d" + extra.document_number;
    if (t.people.some((p) => p.key === key)) return feedback("warn", label + tr(" 已在本管中"));
    const data = Object.assign({}, extra);
    delete data.serial;
    await enqueue(action("add", data));
    t.people.push({ key: key, label: label });
    countToday("people");
    if (t.people.length >= t.capacity && (t.single || state.config.poolMode !== "household")) {
      t.status = "sealed"; state.sealed.add(t.barcode);  // the server closes it too
    }
    save(); render();
    feedback("ok", label + (t.status === "sealed" ? tr(" · 已满，自动封管") : ""));
  }

  async function scanPerson(text) {
    const check = await verifyCode(text);
    if (check.status === "forged") return feedback("bad", tr("不是有效的核酸码"));
    if (check.status === "revoked") return feedback("bad", tr("此码已作废，请出示新码或用证件号登记"));
    const p = check.person;
    const label = p ? p.masked_name + " " + (p.age == null ? "" : p.age + tr("岁 ")) + (p.sex === "M" ? tr("男") : p.sex === "F" ? tr("女") : "") : tr("外区人员（待同步核验）");
    await addPerson({ code: text.trim(), serial: check.serial }, label);
  }

  async function seal() {
    const t = state.tube;
    if (!t || t.status !== "open") return;
    if (t.people.length === 0) return feedback("bad", tr("空管不能封管"));
    await enqueue(action("seal"));
    t.status = "sealed"; state.sealed.add(t.barcode);
    save(); render();
    feedback("ok", tr("已封管 ") + t.barcode);
  }

  async function undo() {
    const t = state.tube;
    if (!t || t.people.length === 0) return feedback("bad", tr("没有可撤销的人"));
    await enqueue(action("undo"));
    const last = t.people.pop();
    t.status = "open"; state.sealed.delete(t.barcode);
    state.counts.people = Math.max(0, state.counts.people - 1);
    save(); render();
    feedback("warn", tr("已撤销 ") + last.label);
  }

  async function handleText(text) {
    text = (text || "").trim();
    const now = Date.now();
    if (!text || (text === state.lastText && now - state.lastTime < 2500)) return;  // the same frame again
    state.lastText = text; state.lastTime = now;
    if (text.toUpperCase().startsWith("GR") && text.length > 100) return scanPerson(text);
    if (TUBE.test(text.toUpperCase())) return openTube(text);
    feedback("bad", tr("无法识别的二维码"));
  }

  // ------------------------------------------------------------------------------------------- sync
  function csrf() {
    const m = document.cookie.match(/csrftoken=([^;]+)/);
    return m ? m[1] : "";
  }
  async function api(method, url, body) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: body ? JSON.stringify(body) : undefined,
    });
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
        response = await api("POST", "/api/sampling/scans/batch", { actions: batch.map(stripSeq) });
      } catch (e) { setOnline(false); return; }  // network down: keep everything, try again
      if (response.status >= 500) { setOnline(false); return; }
      if (response.status === 401 || response.status === 403) { setOnline(true, tr("登录已过期，请重新登录后继续同步")); return; }
      setOnline(true);
      if (response.ok) {
        const results = await response.json();
        results.filter((r) => r.result === "refused").forEach((r) => state.refused.push(r));
        save();
      } else {
        // A 4xx that retrying cannot change: drop it, but say so.
        state.refused.push({ nonce: "", reason: "rejected_batch", message: tr("上传被拒绝（") + response.status + ")" });
      }
      await drop(batch.map((a) => a.seq));
    } finally {
      syncing = false;
      render();
    }
  }
  function stripSeq(a) { const c = Object.assign({}, a); delete c.seq; return c; }
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
    } catch (e) { setOnline(false); }
    render();
  }

  // ------------------------------------------------------------------------------------------ screen
  function render() {
    const c = state.config;
    $("setup").hidden = !!c;
    $("work").hidden = !c;
    $("status").textContent = (state.online ? tr("在线") : tr("离线")) + tr(" · 待同步 ") + state.pending;
    $("status").className = "status " + (state.online ? "online" : "offline");
    $("note").textContent = state.note || "";
    if (!c) return renderSetup();
    $("where").textContent = c.roundName + " · " + c.siteName + " · " + c.stationName + " · " + c.capacityLabel;
    const t = state.tube;
    $("tube").textContent = t ? t.barcode + (t.status === "sealed" ? tr("（已封管）") : "") : tr("请扫管码");
    $("tubecount").textContent = t ? t.people.length + " / " + t.capacity : "";
    $("people").innerHTML = "";
    (t ? t.people : []).forEach((p, i) => {
      const li = document.createElement("li"); li.textContent = (i + 1) + ". " + p.label; $("people").appendChild(li);
    });
    if (state.counts.day !== today()) state.counts = { day: today(), people: 0, tubes: 0 };
    $("today").textContent = tr("本台今日：") + state.counts.people + tr(" 人，") + state.counts.tubes + tr(" 管");
    $("refused").innerHTML = "";
    state.refused.slice(-10).reverse().forEach((r) => {
      const li = document.createElement("li"); li.textContent = (r.tube && r.tube.barcode ? r.tube.barcode + " " : "") + (TEXT["reason:" + r.reason] || r.message); $("refused").appendChild(li);
    });
    $("refused-box").hidden = state.refused.length === 0;
  }
  function renderSetup() {
    const rounds = state.rounds || JSON.parse(localStorage.getItem("gr.rounds") || "[]");
    const sel = $("pick-site");
    sel.innerHTML = "";
    rounds.forEach((r) => r.sites.forEach((s) => s.stations.concat(s.stations.length ? [] : [{ id: null, name: "—" }]).forEach((st) => {
      const o = document.createElement("option");
      o.value = JSON.stringify({ roundId: r.id, roundName: r.name, siteId: s.id, siteName: s.name, stationId: st.id,
        stationName: st.name, capacity: s.capacity, poolMode: s.pool_mode,
        capacityLabel: { single: tr("单采"), household: tr("1户1管"), pool10: tr("10合1"), pool20: tr("20合1") }[s.pool_mode] });
      o.textContent = r.name + " · " + s.name + " · " + st.name;
      sel.appendChild(o);
    })));
    $("setup-empty").hidden = rounds.length > 0;
  }

  // ------------------------------------------------------------------------------------------ camera
  let scanner = null;
  function startCamera() {
    if (scanner) return;
    scanner = new QrScanner($("video"), (r) => handleText(r.data), {
      returnDetailedScanResult: true, maxScansPerSecond: 8,
      // The whole frame, not qr-scanner's central square: a code held close to the lens fills it.
      calculateScanRegion: (v) => {
        const scale = Math.min(1, 640 / Math.max(v.videoWidth, v.videoHeight));
        return { x: 0, y: 0, width: v.videoWidth, height: v.videoHeight,
          downScaledWidth: Math.round(v.videoWidth * scale), downScaledHeight: Math.round(v.videoHeight * scale) };
      },
    });
    scanner.start().then(() => { $("camera").textContent = tr("关闭摄像头"); }).catch((e) => {
      scanner = null; feedback("bad", tr("无法打开摄像头：") + e + tr("（局域网访问需 HTTPS）"));
    });
  }
  function toggleCamera() {
    if (scanner) { scanner.stop(); scanner.destroy(); scanner = null; $("camera").textContent = tr("开启摄像头"); }
    else startCamera();
  }

  // ------------------------------------------------------------------------------------------- wiring
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
    $("manual-tube").onsubmit = (e) => { e.preventDefault(); openTube($("tube-input").value); $("tube-input").value = ""; };
    $("manual-doc").onsubmit = (e) => {
      e.preventDefault();
      const v = $("doc-input").value.trim();
      if (v) addPerson({ document_number: v }, tr("证件号 ") + v.slice(0, 4) + "****" + v.slice(-4) + tr("（待同步核验）"));
      $("doc-input").value = "";
    };
    $("roster-input").oninput = () => {
      const q = $("roster-input").value.trim();
      const list = $("roster-results");
      list.innerHTML = "";
      if (q.length < 1) return;
      Object.values(state.roster).filter((p) => (p.household || "").includes(q) || p.masked_name.includes(q)).slice(0, 20)
        .forEach((p) => {
          const b = document.createElement("button");
          b.type = "button"; b.className = "secondary";
          b.textContent = p.masked_name + " " + (p.age == null ? "" : p.age + tr("岁 ")) + p.household;
          b.onclick = () => addPerson({ resident_id: p.resident_id }, p.masked_name + tr("（名单）"));
          list.appendChild(b);
        });
    };
    window.addEventListener("online", () => { setOnline(true); sync(); });
    window.addEventListener("offline", () => setOnline(false));
    setInterval(sync, 2000);
    setInterval(() => { if (state.online) refreshData(); }, 60000);
  }

  window.gridrollScanner = { state: state, handleText: handleText, sync: sync, pending: () => state.pending, startCamera: startCamera };

  document.addEventListener("DOMContentLoaded", () => {
    bind();
    render();
    refreshPending();
    refreshData();
    if ("serviceWorker" in navigator) navigator.serviceWorker.register("/scan/sw.js", { scope: "/scan/" }).catch(() => {});
  });
})();
