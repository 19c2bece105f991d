/* actions.js — what the detail's buttons and the HAR export need: a flow as a curl command (shell
 * quoting that survives any byte), copying to the clipboard, the message dialog, saving a file. */
'use strict';

(function () {
  const { $, el, api, fmtSize, pad2, setText } = window.HP;

  function shellQuote(s) {
    if (s === '') return "''";
    if (/^[A-Za-z0-9_\-.,:/@%+=]+$/.test(s)) return s;
    if (/[\x00-\x08\x0b-\x1f\x7f]/.test(s)) {
      // ANSI-C quoting keeps control bytes exact
      let out = "$'";
      for (const ch of s) {
        const c = ch.codePointAt(0);
        if (ch === '\\') out += '\\\\';
        else if (ch === "'") out += "\\'";
        else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
        else out += ch;
      }
      return out + "'";
    }
    return "'" + s.replace(/'/g, "'\\''") + "'";
  }

  const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization',
    'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'content-length']);

  async function curlCommand(d) {
    const req = d.request || {};
    const method = d.method || req.method || 'GET';
    const parts = ['curl'];
    if (method === 'HEAD') parts.push('--head');
    else if (method !== 'GET') parts.push('-X', shellQuote(method));
    parts.push(shellQuote(d.url));
    let host = '';
    try { host = new URL(d.url).host; } catch (e) { /* keep */ }
    let compressed = false;
    for (const h of req.headers || []) {
      const n = h.name.toLowerCase();
      if (HOP_BY_HOP.has(n)) continue;
      if (n === 'host' && h.value.toLowerCase() === host.toLowerCase()) continue;
      if (n === 'accept-encoding' && /gzip|deflate|br/i.test(h.value)) compressed = true;
      parts.push('-H', shellQuote(h.name + ': ' + h.value));
    }
    if (compressed) parts.push('--compressed');
    const notes = [];
    if (req.body_captured > 0) {
      const r = await fetch(api('/api/flows/' + d.id + '/request/body'), { cache: 'no-store' });
      const bytes = r.ok ? new Uint8Array(await r.arrayBuffer()) : null;
      let text = null;
      if (bytes) { try { text = new TextDecoder('utf-8', { fatal: true }).decode(bytes); } catch (e) { text = null; } }
      if (text !== null && !/\x00/.test(text)) parts.push('--data-binary', shellQuote(text));
      else notes.push('# the ' + fmtSize(req.body_size) + ' binary request body is not inline: download it and add --data-binary @FILE');
      if (req.body_truncated) notes.push('# the request body was truncated when captured: this body is incomplete');
    } else if (req.body_size > 0) {
      notes.push('# the request body (' + fmtSize(req.body_size) + ') was not captured');
    }
    return notes.concat([parts.join(' ')]).join('\n');
  }

  function copyText(text) {
    // navigator.clipboard needs a secure context; http://127.0.0.1 is one, other hosts are not
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(() => true, () => legacyCopy(text));
    }
    return Promise.resolve(legacyCopy(text));
  }
  function legacyCopy(text) {
    const ta = el('textarea', { class: 'offscreen' });
    ta.value = text;
    document.body.appendChild(ta);
    ta.select();
    let ok = false;
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    ta.remove();
    return ok;
  }

  function showDialog(title, msg, text) {
    setText($('dlg-title'), title);
    setText($('dlg-msg'), msg || '');
    const ta = $('dlg-text');
    ta.hidden = text === undefined;
    ta.value = text || '';
    const dlg = $('dlg');
    if (!dlg.open) dlg.showModal();
    if (text !== undefined) { ta.focus(); ta.select(); }
  }

  function stamp() {
    const d = new Date();
    return d.getFullYear() + pad2(d.getMonth() + 1) + pad2(d.getDate()) + '-' + pad2(d.getHours()) + pad2(d.getMinutes()) + pad2(d.getSeconds());
  }

  function saveBlob(blob, name) {
    const url = URL.createObjectURL(blob);
    const a = el('a', { href: url, download: name, class: 'offscreen' });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  Object.assign(window.HP, { curlCommand, copyText, showDialog, stamp, saveBlob });
})();
