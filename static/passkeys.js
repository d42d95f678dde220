// Passkeys (WebAuthn) for the hosted pages: sign-in on /login (a button, and the browser's
// passkey suggestions in the username field: conditional UI), and adding a passkey on
// /profile/passkeys. Self-hosted, no dependencies, no inline script (CSP: script-src 'self').
// Without JavaScript the pages still work with a password.
"use strict";
(function () {
  if (!window.PublicKeyCredential || !navigator.credentials) return;

  // A message in the page's language: the container's data-msg-* attribute, else English.
  const say = (el, key, english) => el.dataset["msg" + key[0].toUpperCase() + key.slice(1)] || english;

  const b64u = {
    decode(text) {
      const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
      const padded = base64 + "===".slice((base64.length + 3) % 4);
      return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
    },
    encode(buffer) {
      const bytes = new Uint8Array(buffer);
      let text = "";
      for (const b of bytes) text += String.fromCharCode(b);
      return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    },
  };

  async function post(path, body) {
    const res = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    let data = {};
    try { data = await res.json(); } catch (_) { /* not JSON */ }
    if (!res.ok) {
      const err = new Error(data.error || "Something went wrong. Try again.");
      err.reauth = data.reauth;
      throw err;
    }
    return data;
  }

  function creationOptions(options) {
    const pk = options.publicKey;
    pk.challenge = b64u.decode(pk.challenge);
    pk.user.id = b64u.decode(pk.user.id);
    (pk.excludeCredentials || []).forEach((c) => { c.id = b64u.decode(c.id); });
    return pk;
  }

  function requestOptions(options) {
    const pk = options.publicKey;
    pk.challenge = b64u.decode(pk.challenge);
    (pk.allowCredentials || []).forEach((c) => { c.id = b64u.decode(c.id); });
    return pk;
  }

  function registrationJSON(cred) {
    const r = cred.response;
    return {
      id: cred.id,
      rawId: b64u.encode(cred.rawId),
      type: cred.type,
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: {
        attestationObject: b64u.encode(r.attestationObject),
        clientDataJSON: b64u.encode(r.clientDataJSON),
        transports: r.getTransports ? r.getTransports() : [],
      },
    };
  }

  function assertionJSON(cred) {
    const r = cred.response;
    return {
      id: cred.id,
      rawId: b64u.encode(cred.rawId),
      type: cred.type,
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: {
        authenticatorData: b64u.encode(r.authenticatorData),
        clientDataJSON: b64u.encode(r.clientDataJSON),
        signature: b64u.encode(r.signature),
        userHandle: r.userHandle ? b64u.encode(r.userHandle) : null,
      },
    };
  }

  // Sign-in on /login.
  const signIn = document.getElementById("passkey-sign-in");
  if (signIn) {
    const csrf = signIn.dataset.csrf;
    const next = signIn.dataset.next || "";
    const button = document.getElementById("passkey-sign-in-button");
    const status = document.getElementById("passkey-sign-in-status");
    let pending = null;

    async function run(conditional) {
      if (pending) pending.abort();
      const controller = new AbortController();
      pending = controller;
      const options = await post("/login/passkey/begin", { csrf_token: csrf });
      const request = { publicKey: requestOptions(options), signal: controller.signal };
      if (conditional) request.mediation = "conditional";
      const cred = await navigator.credentials.get(request);
      if (!cred) return;
      status.textContent = say(signIn, "signingIn", "Signing you in…");
      const done = await post("/login/passkey/finish", { csrf_token: csrf, next, credential: assertionJSON(cred) });
      window.location.assign(done.redirect);
    }

    function failed(err) {
      if (err && err.name === "AbortError") return;
      if (err && err.name === "NotAllowedError") {
        status.textContent = say(signIn, "cancelled", "The passkey request was cancelled or timed out.");
        return;
      }
      status.textContent = (err && err.message) || say(signIn, "failed", "Sign-in with a passkey failed.");
    }

    button.hidden = false;
    button.addEventListener("click", () => { status.textContent = ""; run(false).catch(failed); });
    if (PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then((available) => {
        if (available) run(true).catch(failed);
      });
    }
  }

  // The second step after a password, on /login/totp.
  const second = document.getElementById("passkey-second-step");
  if (second) {
    const csrf = second.dataset.csrf;
    const button = document.getElementById("passkey-second-step-button");
    const status = document.getElementById("passkey-second-step-status");
    button.hidden = false;
    button.addEventListener("click", async () => {
      status.textContent = "";
      try {
        const options = await post("/login/totp/passkey/begin", { csrf_token: csrf });
        const cred = await navigator.credentials.get({ publicKey: requestOptions(options) });
        const done = await post("/login/totp/passkey/finish", { csrf_token: csrf, credential: assertionJSON(cred) });
        window.location.assign(done.redirect);
      } catch (err) {
        status.textContent = (err && err.name === "NotAllowedError")
          ? say(second, "cancelled", "The passkey request was cancelled or timed out.")
          : ((err && err.message) || say(second, "failed", "The passkey was not accepted."));
      }
    });
  }

  // Adding a passkey on /profile/passkeys.
  const add = document.getElementById("passkey-add");
  if (add) {
    const csrf = add.dataset.csrf;
    const button = document.getElementById("passkey-add-button");
    const nameField = document.getElementById("passkey-name");
    const status = document.getElementById("passkey-add-status");
    const hint = add.querySelector(".js-only-hint");
    if (hint) hint.hidden = true;
    button.addEventListener("click", async () => {
      status.textContent = "";
      const name = nameField.value.trim();
      if (!name) {
        status.textContent = say(add, "nameNeeded", "Give the passkey a name, for example the device it is on.");
        nameField.focus();
        return;
      }
      try {
        const options = await post("/profile/passkeys/begin", { csrf_token: csrf });
        const cred = await navigator.credentials.create({ publicKey: creationOptions(options) });
        const done = await post("/profile/passkeys/finish", { csrf_token: csrf, name, credential: registrationJSON(cred) });
        window.location.assign(done.redirect);
      } catch (err) {
        if (err && err.reauth) {
          status.textContent = err.message + " " + say(add, "toSignIn", "Taking you to the sign-in page…");
          window.setTimeout(() => window.location.assign(err.reauth), 1500);
          return;
        }
        status.textContent = (err && err.name === "NotAllowedError")
          ? say(add, "cancelled", "The passkey request was cancelled or timed out.")
          : ((err && err.message) || say(add, "failed", "The passkey could not be added."));
      }
    });
  }
})();
