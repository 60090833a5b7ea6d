/* offline-1.js: a member's pages on a link that comes and goes (no library).
 *
 * - Registers the service worker (/sw.js), which keeps a copy of every member page read; offline,
 *   the page says it is a copy and of when.
 * - An action sent with no link (the browser is offline, or the request fails) is kept in
 *   IndexedDB (closing the tab loses nothing) and shown as "waiting to send (n)"; when the link
 *   returns it is sent, with an Idempotency-Key and the expected_version it was made against.
 * - A 409 "changed since" is shown with what changed meanwhile and a one-tap retry against the new
 *   version; any other refusal keeps the member's text, with the reason, to send again or discard.
 * Texts come from the page (#offline-texts, translated by the server).
 */
(() => {
  "use strict";
  const texts = JSON.parse(document.getElementById("offline-texts").textContent);
  const STORE = "actions";
  const QUEUED = /^\/(commitments|cases|dialogues)\//;
  const HIDDEN = new Set(["csrf_token", "expected_version"]);

  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});

  const open = () => new Promise((resolve, reject) => {
    const request = indexedDB.open("tracker-outbox", 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "key" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const transact = async (mode, work) => {
    const db = await open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = work(tx.objectStore(STORE));
      tx.oncomplete = () => { db.close(); resolve(request.result); };
      tx.onerror = () => { db.close(); reject(tx.error); };
    });
  };
  const account = () => (document.querySelector("header .who") || {}).textContent || "";
  const mine = async () => (await transact("readonly", (s) => s.getAll())).filter((i) => i.account === account());
  const put = (item) => transact("readwrite", (s) => s.put(item));
  const drop = (key) => transact("readwrite", (s) => s.delete(key));
  const newKey = () => (crypto.randomUUID ? crypto.randomUUID()
    : [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join(""));
  const token = () => JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";

  const queueable = (form) => form instanceof HTMLFormElement && form.method === "post"
    && QUEUED.test(new URL(form.action, location.href).pathname);

  async function keep(form) {
    const fields = [...new FormData(form)].filter(([, v]) => typeof v === "string");
    const version = fields.find(([k]) => k === "expected_version");
    const button = form.querySelector("button");
    await put({ key: newKey(), account: account(), url: new URL(form.action, location.href).pathname,
                fields, expected_version: version ? Number(version[1]) : null,
                label: button ? button.textContent.trim() : "", title: document.title,
                state: "waiting", message: "", made_at: new Date().toISOString() });
    const details = form.closest("details");
    if (details) details.open = false;
    show();
  }

  // Offline: keep the action instead of sending it (before htmx sees the submit).
  document.addEventListener("submit", (event) => {
    if (navigator.onLine || !queueable(event.target)) return;
    event.preventDefault();
    event.stopPropagation();
    keep(event.target);
  }, true);
  // Online, but the request did not get through.
  document.addEventListener("htmx:sendError", (event) => {
    const form = event.detail.elt.closest("form");
    if (form && queueable(form)) keep(form);
  });
  document.addEventListener("submit", (event) => {
    if (event.target.matches("form[action='/logout']") && "caches" in window) caches.delete("pages");
  }, true);

  const textOf = (node) => (node ? node.textContent.replace(/\s+/g, " ").trim() : "");

  async function send(item) {
    const body = new URLSearchParams(item.fields.map(([k, v]) => [k, k === "csrf_token" ? token() : v]));
    const answer = await fetch(item.url, { method: "POST", body, credentials: "same-origin",
      headers: { "Idempotency-Key": item.key, "HX-Request": "true", "X-CSRF-Token": token() } });
    if (answer.ok) { await drop(item.key); return true; }
    if (answer.status === 401) return false;  // signed out: wait for the next sign-in
    const page = new DOMParser().parseFromString(await answer.text(), "text/html");
    const changed = page.querySelector(".notice.changed");
    const form = [...page.querySelectorAll("form")].find((f) => f.getAttribute("action") === item.url);
    const version = form && form.querySelector("[name=expected_version]");
    const latest = textOf(page.querySelector(".timeline li"));  // what changed meanwhile
    if (answer.status === 409 && changed && version) {
      item.state = "conflict";
      item.new_version = Number(version.value);
      item.message = latest;
    } else {  // refused, or changed so that this action is no longer offered
      item.state = "refused";
      item.message = [...page.querySelectorAll(".error, .notice.refused, .notice.changed")].map(textOf)
        .concat(changed ? [latest] : []).join(" ") || textOf(page.body).slice(0, 200) || String(answer.status);
    }
    await put(item);
    return false;
  }

  let sending = false;
  async function flush() {
    if (sending || !navigator.onLine) return;
    sending = true;
    let sent = 0;
    try {
      for (const item of await mine()) {
        if (item.state !== "waiting") continue;
        try {
          if (await send(item)) sent += 1;
        } catch (error) {
          break;  // still no link: try again later
        }
      }
    } finally {
      sending = false;
    }
    if (sent) {
      sessionStorage.setItem("outbox-sent", String(sent));
      location.reload();  // the page as it is now, with what was sent
      return;
    }
    show();
  }

  async function again(item, version) {
    await drop(item.key);
    if (version !== undefined && version !== null) {
      item.fields = item.fields.map(([k, v]) => [k, k === "expected_version" ? String(version) : v]);
      item.expected_version = version;
    }
    // Another body (or a fresh attempt) is another request: a new key.
    Object.assign(item, { key: newKey(), state: "waiting", message: "" });
    delete item.new_version;
    await put(item);
    flush();
  }

  const box = document.createElement("section");
  box.id = "outbox";
  box.className = "outbox";
  box.setAttribute("role", "status");
  box.setAttribute("aria-live", "polite");
  box.hidden = true;
  const anchor = document.getElementById("messages") || document.querySelector("main");
  anchor.parentNode.insertBefore(box, anchor.nextSibling);

  const element = (tag, text, cls) => {
    const node = document.createElement(tag);
    if (text) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  };
  const button = (label, act) => {
    const node = element("button", label);
    node.type = "button";
    node.addEventListener("click", act);
    return node;
  };

  async function copyTime() {
    if (!("caches" in window)) return null;
    const copy = await caches.match(location.href, { cacheName: "pages", ignoreVary: true });
    const at = copy && copy.headers.get("x-copied-at");
    return at ? new Intl.DateTimeFormat(document.documentElement.lang,
      { dateStyle: "medium", timeStyle: "short" }).format(new Date(at)) : null;
  }

  const sentBefore = sessionStorage.getItem("outbox-sent");  // by this tab, before it reloaded
  sessionStorage.removeItem("outbox-sent");

  async function show() {
    const items = await mine();
    box.replaceChildren();
    if (!navigator.onLine) {
      const at = await copyTime();
      box.append(element("p", at ? texts.offline_copy.replace("{time}", at) : texts.offline, "notice changed"));
    }
    if (sentBefore && navigator.onLine) box.append(element("p", texts.sent.replace("{n}", sentBefore), "notice ok"));
    const waiting = items.filter((i) => i.state === "waiting").length;
    if (items.length) {
      if (waiting) box.append(element("h2", texts.waiting.replace("{n}", waiting)));
      const list = element("ul", "", "list");
      for (const item of items) {
        const entry = element("li");
        entry.append(element("strong", item.label), element("span", ` · ${item.title}`, "meta"));
        const typed = item.fields.filter(([k, v]) => !HIDDEN.has(k) && v && v !== "on").map(([, v]) => v).join(" · ");
        if (typed) entry.append(element("p", typed));
        if (item.state === "conflict") {
          entry.append(element("p", `${texts.conflict} ${item.message}`, "notice changed"),
                       button(texts.retry, () => again(item, item.new_version)));
        } else if (item.state === "refused") {
          entry.append(element("p", `${texts.refused} ${item.message}`, "notice refused"),
                       button(texts.retry, () => again(item)));
        }
        if (item.state !== "waiting") entry.append(" ", button(texts.discard, async () => { await drop(item.key); show(); }));
        list.append(entry);
      }
      box.append(list);
    }
    box.hidden = !box.childElementCount;
  }

  window.addEventListener("online", flush);
  window.addEventListener("offline", show);
  show().then(flush);
})();
