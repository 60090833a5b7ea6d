// "Check it yourself" on a public commitment page: in this browser, with WebCrypto only (SHA-256,
// Ed25519), check that every event the page shows is in the tracker's signed Merkle tree head
// (RFC 9162 §2.1.3.2), that the head's signature holds, and so do its witnesses' cosignatures.
// The proof comes from /api/v1/public/commitments/{id}/proof; the texts come from the page, in its
// language. Without JavaScript the button stays hidden and the page links to the proof file.
(function () {
  "use strict";
  var section = document.getElementById("proof");
  var button = document.getElementById("check-proof");
  var result = document.getElementById("proof-result");
  if (!section || !button || !result) return;
  var texts = JSON.parse(document.getElementById("proof-messages").textContent);

  function say(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, name) {
      return name in values ? String(values[name]) : all;
    });
  }

  function fromHex(text) {
    var bytes = new Uint8Array(text.length / 2);
    for (var i = 0; i < bytes.length; i++) bytes[i] = parseInt(text.substr(2 * i, 2), 16);
    return bytes;
  }

  function toHex(bytes) {
    return Array.prototype.map.call(bytes, function (b) {
      return (b < 16 ? "0" : "") + b.toString(16);
    }).join("");
  }

  function fromBase64(text) {
    var raw = atob(text), bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function concat(parts) {
    var size = parts.reduce(function (n, p) { return n + p.length; }, 0);
    var out = new Uint8Array(size), at = 0;
    parts.forEach(function (p) { out.set(p, at); at += p.length; });
    return out;
  }

  async function sha256(parts) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", concat(parts)));
  }

  function same(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  // The leaf: u64 position, field(topic), field(originator id), u64 version, SHA-256 of the state.
  function parseLeaf(leaf) {
    var view = new DataView(leaf.buffer, leaf.byteOffset, leaf.byteLength), at = 0;
    var decoder = new TextDecoder("utf-8", { fatal: true });
    function u64() { var v = Number(view.getBigUint64(at)); at += 8; return v; }
    function field() {
      var n = u64();
      if (at + n > leaf.length) throw new Error("short");
      var text = decoder.decode(leaf.subarray(at, at + n));
      at += n;
      return text;
    }
    var found = { position: u64(), topic: field(), originatorId: field(), version: u64() };
    if (leaf.length - at !== 32) throw new Error("not a leaf");
    return found;
  }

  // RFC 9162 §2.1.3.2: the root an audit path leads to from a leaf hash, or null.
  async function rootFromPath(index, size, hash, path) {
    if (index >= size) return null;
    var fn = index, sn = size - 1, r = hash;
    for (var i = 0; i < path.length; i++) {
      var p = fromHex(path[i]);
      if (sn === 0) return null;
      if (fn % 2 === 1 || fn === sn) {
        r = await sha256([Uint8Array.of(1), p, r]);
        if (fn % 2 === 0) {
          while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
        }
      } else {
        r = await sha256([Uint8Array.of(1), r, p]);
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    return sn === 0 ? r : null;
  }

  async function signatureHolds(publicKey, signature, text) {
    var key = await crypto.subtle.importKey("raw", fromHex(publicKey), { name: "Ed25519" },
                                            false, ["verify"]);
    return crypto.subtle.verify({ name: "Ed25519" }, key, fromHex(signature),
                                new TextEncoder().encode(text));
  }

  function show(ok, lines) {
    result.className = ok ? "notice ok" : "notice refused";
    result.setAttribute("role", ok ? "status" : "alert");
    result.replaceChildren.apply(result, lines.map(function (line) {
      var p = document.createElement("p");
      p.textContent = line;
      return p;
    }));
  }

  class Failure extends Error {}

  async function check() {
    if (!window.crypto || !crypto.subtle) throw new Failure(texts.unsupported);
    var answer;
    try {
      answer = await fetch(section.dataset.proofUrl, { headers: { Accept: "application/json" } });
    } catch (error) {
      throw new Failure(say(texts.fetch, { detail: error.message }));
    }
    if (!answer.ok) throw new Failure(say(texts.fetch, { detail: answer.status }));
    var bundle = await answer.json(), head = bundle.tree_head;
    var byPosition = {};
    bundle.entries.forEach(function (e) { byPosition[e.position] = e; });

    var shown = Array.prototype.map.call(
      document.querySelectorAll("[data-position]"), function (li) { return Number(li.dataset.position); });
    var root = fromHex(head.root_hash);
    for (var i = 0; i < shown.length; i++) {
      var position = shown[i], entry = byPosition[position];
      if (!entry) throw new Failure(say(texts.missing, { position: position }));
      var leaf = fromBase64(entry.leaf), parts;
      try { parts = parseLeaf(leaf); } catch (error) { parts = null; }
      if (!parts || parts.position !== position || parts.originatorId !== section.dataset.commitment) {
        throw new Failure(say(texts.other_event, { position: position }));
      }
      var found = await rootFromPath(entry.leaf_index, head.tree_size,
                                     await sha256([Uint8Array.of(0), leaf]), entry.audit_path);
      if (!found || !same(found, root)) throw new Failure(say(texts.path, { position: position }));
    }

    if (toHex((await sha256([fromHex(head.public_key)])).subarray(0, 8)) !== head.key_id) {
      throw new Failure(texts.key_id);
    }
    var text = "jsd-tracker-tree-head-v1\n" + head.tree_size + "\n" + head.root_hash + "\n" + head.signed_at;
    if (!(await signatureHolds(head.public_key, head.signature, text))) throw new Failure(texts.signature);
    var witnesses = [];
    for (var c of head.cosignatures || []) {
      var cosigned = "jsd-tracker-cosignature-v1\n" + head.key_id + "\n" + c.tree_size + "\n" +
        c.root_hash + "\n" + c.cosigned_at;
      if (c.tree_size !== head.tree_size || c.root_hash !== head.root_hash ||
          !(await signatureHolds(c.public_key, c.signature, cosigned))) {
        throw new Failure(say(texts.cosignature, { witness: c.name || c.key_id }));
      }
      witnesses.push(c.name || c.key_id);
    }
    var values = { n: shown.length, positions: shown.join(", "), size: head.tree_size,
                   root: head.root_hash, key: head.key_id,
                   time: new Date(head.signed_at).toLocaleString(document.documentElement.lang) };
    var lines = [say(texts.ok, values), say(texts.root, values)];
    if (witnesses.length) lines.push(say(texts.witnesses, { names: witnesses.join(", ") }));
    lines.push(say(texts.what, values));
    return lines;
  }

  button.addEventListener("click", async function () {
    button.disabled = true;
    show(true, [texts.checking]);
    try {
      show(true, await check());
    } catch (error) {
      var reason = error instanceof Failure ? error.message
        : (error && error.name === "NotSupportedError") ? texts.unsupported
          : say(texts.fetch, { detail: error && error.message });
      show(false, [say(texts.failed, { reason: reason })]);
    } finally {
      button.disabled = false;
    }
  });
  button.hidden = false;
})();
