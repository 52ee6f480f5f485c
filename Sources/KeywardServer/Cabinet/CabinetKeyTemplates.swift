/// Templates of the Keys and Settings pages.
extension CabinetTemplates {
    /// What a new credential may do: unrestricted (only for members whose role holds every permission),
    /// or the ticked permissions of the member's role plus API scopes for the upstream; and from where.
    static let credentialLimits = """
        <fieldset><legend>What it may do</legend>
        {{#canMintUnrestricted}}
        <label><input type="radio" name="access" value="unrestricted" checked> Everything (unrestricted)</label>
        <label><input type="radio" name="access" value="restricted"> Only what is chosen below</label>
        {{/canMintUnrestricted}}
        {{^canMintUnrestricted}}<input type="hidden" name="access" value="restricted"><p>Your role can hand out only the permissions it holds:</p>{{/canMintUnrestricted}}
        {{#grantable}}<label><input type="checkbox" name="permission.{{.}}" value="on"> {{.}}</label>{{/grantable}}
        <label>API scopes passed to your API (comma-separated, e.g. payments.write)<input name="scopes" type="text" maxlength="2000"></label>
        <label>IP allowlist (CIDR blocks, comma-separated; empty = anywhere)<input name="allowed_ips" type="text" maxlength="4000" placeholder="203.0.113.0/24"></label>
        </fieldset>
        """

    static let keys = """
        {{> head}}
        <h1>Secret keys · {{mode}} mode</h1>
        <p>{{#modes}}<a href="/cabinet/keys?mode={{name}}" {{#current}}aria-current="page"{{/current}}>{{title}}</a> {{/modes}}</p>
        {{#canWrite}}
        <form class="card" method="post" action="/cabinet/keys">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="mode" value="{{mode}}">
        <label for="name">Name of the new key</label>
        <input id="name" name="name" type="text" required maxlength="200" placeholder="backend">
        {{> credential-limits}}
        <button type="submit">Generate</button>
        </form>
        {{/canWrite}}
        <p><a href="/cabinet/keys/check?mode={{mode}}">Make a test request</a>: check a key, or find out why a call was refused.</p>
        <table>
        <thead><tr><th scope="col">Name</th><th scope="col">Key</th><th scope="col">Status</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col">Actions</th></tr></thead>
        <tbody>
        {{{keyRowsHTML}}}
        </tbody>
        </table>
        {{^keys}}<p>No keys in {{mode}} mode yet.</p>{{/keys}}
        {{{credentialsHTML}}}
        {{#canWrite}}
        <h2>New payment key or signing key</h2>
        <form class="card" method="post" action="/cabinet/credentials/payment-keys">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="mode" value="{{mode}}">
        <label for="payment-key-name">Name of the new payment key</label>
        <input id="payment-key-name" name="name" type="text" maxlength="200" placeholder="hosted checkout">
        <button type="submit">Generate payment key</button>
        </form>
        <form class="card" method="post" action="/cabinet/credentials/signing-keys">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="mode" value="{{mode}}">
        <label for="signing-key-name">Name of the new signing key</label>
        <input id="signing-key-name" name="name" type="text" maxlength="200" placeholder="payments server">
        <label for="algorithm">Algorithm</label>
        <select id="algorithm" name="algorithm"><option value="ec-p256">EC P-256</option><option value="ed25519">Ed25519</option><option value="ec-p384">EC P-384</option><option value="rsa-2048">RSA 2048</option><option value="rsa-3072">RSA 3072</option><option value="rsa-4096">RSA 4096</option></select>
        {{> credential-limits}}
        <button type="submit">Generate key pair</button>
        </form>
        <form class="card" method="post" action="/cabinet/credentials/signing-keys/register">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="mode" value="{{mode}}">
        <label for="saved-key-name">Save your own signing public key: name</label>
        <input id="saved-key-name" name="name" type="text" maxlength="200">
        <label for="public_key">Public key or certificate (PEM)</label>
        <textarea id="public_key" name="public_key" rows="5" style="width:100%" required></textarea>
        {{> credential-limits}}
        <button type="submit">Save public key</button>
        </form>
        <h2>New JWK (Alliance Bank)</h2>
        <form class="card" method="post" action="/cabinet/credentials/jwks/generate">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="mode" value="{{mode}}">
        <label for="jwk-name">Name</label>
        <input id="jwk-name" name="name" type="text" maxlength="200" placeholder="bank SDK">
        {{> credential-limits}}
        <button type="submit">Generate P-384 JWK</button>
        </form>
        <form class="card" method="post" action="/cabinet/credentials/jwks/register">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="mode" value="{{mode}}">
        <label for="jwk-save-name">Save your own public JWK: name</label>
        <input id="jwk-save-name" name="name" type="text" maxlength="200">
        <label for="jwk">Public JWK (JSON, EC P-384)</label>
        <textarea id="jwk" name="jwk" rows="4" style="width:100%" required></textarea>
        {{> credential-limits}}
        <button type="submit">Save JWK</button>
        </form>
        {{/canWrite}}
        {{> foot}}
        """

    static let credentialCreated = """
        {{> head}}
        <h1>{{title}}</h1>
        <p>Copy it now: this is the <strong>only time</strong> it is shown.</p>
        <section class="card" style="max-width:none">
        <pre><code id="secret">{{secret}}</code></pre>
        <p><a download="{{uri}}" href="data:text/plain;charset=utf-8,{{secretURLEncoded}}">Download as a file</a></p>
        <p>{{reason}}</p>
        </section>
        <p><a href="/cabinet/keys?mode={{mode}}">Back to the keys</a></p>
        {{> foot}}
        """

    static let credentialRevoke = """
        {{> head}}
        <h1>{{title}}?</h1>
        <p><strong>Every integration using it stops working at once</strong>, on every instance. This cannot be undone.</p>
        <form class="card" method="post" action="{{uri}}">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="mode" value="{{mode}}">
        <button type="submit" class="danger">Revoke</button>
        <a href="/cabinet/keys?mode={{mode}}">Cancel</a>
        </form>
        {{> foot}}
        """

    static let keyCreated = """
        {{> head}}
        <h1>Key created</h1>
        <p>Copy it now: this is the <strong>only time</strong> it is shown. Keyward keeps only its hash.</p>
        {{#notice}}<p role="status">{{notice}}</p>{{/notice}}
        <section class="card" style="max-width:none">
        <p><code id="secret">{{secret}}</code></p>
        <p><a download="keyward-{{mode}}-key.txt" href="data:text/plain;charset=utf-8,{{secretURLEncoded}}">Download as a file</a></p>
        <h2>Install it</h2>
        <ol>
        <li>Store it where your backend keeps secrets (an environment variable such as <code>KEYWARD_SECRET_KEY</code>, or your secret manager), never in source control or a browser.</li>
        <li>Send it on every call as <code>Authorization: Bearer …</code> over HTTPS.</li>
        <li>Try it:</li>
        </ol>
        <pre><code>curl -H "Authorization: Bearer {{secret}}" {{baseURL}}/v1/auth/test</code></pre>
        </section>
        <p><a href="/cabinet/keys?mode={{mode}}">Back to the keys</a></p>
        {{> foot}}
        """

    static let keyAction = """
        {{> head}}
        {{#keyAction}}
        <h1>{{title}}?</h1>
        <p>Key <code>{{masked}}</code> ({{mode}} mode), last used {{lastUsed}}.</p>
        {{#isRoll}}<p>Rolling makes a new key with the same name, permissions and allowlist. Choose how long the old key keeps working while you deploy the new one.</p>{{/isRoll}}
        {{^isRoll}}<p><strong>Every integration using this key stops working at once</strong>, on every instance. This cannot be undone.</p>{{/isRoll}}
        <form class="card" method="post" action="{{actionURL}}">
        {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="mode" value="{{mode}}">
        {{#isRoll}}
        <fieldset><legend>Old key keeps working for</legend>
        {{#overlaps}}<label><input type="radio" name="overlap" value="{{seconds}}" {{#chosen}}checked{{/chosen}}> {{label}}</label>{{/overlaps}}
        </fieldset>
        {{#needsCode}}
        <label for="code">Code from your authenticator app (live keys need a fresh one)</label>
        <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required>
        {{/needsCode}}
        <button type="submit">Roll key</button>
        {{/isRoll}}
        {{^isRoll}}<button type="submit" class="danger">Revoke key</button>{{/isRoll}}
        <a href="/cabinet/keys?mode={{mode}}">Cancel</a>
        </form>
        {{/keyAction}}
        {{> foot}}
        """

    static let settings = """
        {{> head}}
        <h1>Settings</h1>
        {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
        {{#notice}}<p role="status">{{notice}}</p>{{/notice}}
        {{#settings}}
        <form class="card" method="post" action="/cabinet/settings">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="rotation_days">Rotation period of keys, in days</label>
        <input id="rotation_days" name="rotation_days" type="number" min="7" max="730" required value="{{rotationDays}}">
        <label for="allowed_ips">IP allowlist for API calls (one address or CIDR block per line; empty: anywhere)</label>
        <textarea id="allowed_ips" name="allowed_ips" rows="5" style="width:100%">{{allowedIPs}}</textarea>
        <label for="leaked_test_key_grace_seconds">When a secret scanner reports a <em>test</em> key leaked, keep it working for (seconds; 0 = revoke at once)</label>
        <input id="leaked_test_key_grace_seconds" name="leaked_test_key_grace_seconds" type="number" min="0" max="3600" required value="{{leakedTestKeyGraceSeconds}}" aria-describedby="leak-grace-help">
        <p id="leak-grace-help">Live keys are always revoked at once. A test key then expires at the end of the overlap; roll it or create a new one before.</p>
        <button type="submit">Save</button>
        </form>
        {{> settings-passkeys}}
        <h2>Rate limits</h2>
        <p>Verified API calls a second, for all of this merchant's credentials of a mode together. Past the limit a call is answered <code>429</code> with <code>Retry-After</code>; every answer carries <code>RateLimit</code> and <code>RateLimit-Policy</code> headers.</p>
        <form class="card" method="post" action="/cabinet/settings/rate-limits">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="live_quota">Live mode, requests a second</label>
        <input id="live_quota" name="live_quota" type="number" min="1" max="1000000" required value="{{liveQuota}}">
        <label for="test_quota">Test mode, requests a second</label>
        <input id="test_quota" name="test_quota" type="number" min="1" max="1000000" required value="{{testQuota}}">
        <button type="submit">Save limits</button>
        </form>
        <h3>Credentials with a limit of their own</h3>
        <p>A credential's own limit applies on top of the merchant's: use it to hold back one integration without slowing the others.</p>
        <table><thead><tr><th scope="col">Credential</th><th scope="col">Mode</th><th scope="col">Limit</th><th scope="col"></th></tr></thead>
        <tbody>{{{credentialLimitRowsHTML}}}</tbody></table>
        <form class="card" method="post" action="/cabinet/settings/rate-limits/credential">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="limit_subject">Credential id (a secret key, signing key, store key index or JWK)</label>
        <input id="limit_subject" name="subject" required maxlength="64" placeholder="key_…">
        <label for="limit_mode">Mode</label>
        <select id="limit_mode" name="mode"><option value="test">test</option><option value="live">live</option></select>
        <label for="limit_quota">Requests a second</label>
        <input id="limit_quota" name="quota" type="number" min="1" max="1000000" required>
        <button type="submit">Set limit</button>
        </form>
        <h2>Webhook</h2>
        <p>Certificate expiry, renewal and order events, and <code>key.leaked</code> when a secret scanner finds one of your keys, are posted here, signed with <code>Keyward-Signature</code>.</p>
        {{#webhookSecret}}<p role="status">Signing secret (shown once): <code id="webhook-secret">{{webhookSecret}}</code></p>{{/webhookSecret}}
        <form class="card" method="post" action="/cabinet/settings/webhook">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="webhook_url">Endpoint URL</label>
        <input id="webhook_url" name="url" type="url" required maxlength="2000" value="{{webhookURL}}" placeholder="https://example.com/keyward-events">
        <button type="submit">Save webhook</button>
        </form>
        {{#webhookURL}}
        <form method="post" action="/cabinet/settings/webhook/delete"><input type="hidden" name="csrf" value="{{csrf}}">
        <button type="submit" class="danger">Remove webhook</button></form>
        {{/webhookURL}}
        {{/settings}}
        {{> foot}}
        """

    static let keyCheck = """
        {{> head}}
        <h1>Make a test request</h1>
        <p>From your server (set <code>KEYWARD_SECRET_KEY</code> to a {{mode}}-mode key first):</p>
        <pre><code>curl -H "Authorization: Bearer $KEYWARD_SECRET_KEY" {{baseURL}}/v1/auth/test</code></pre>
        <p>A working key answers <code>200</code> with its id, merchant, mode and permissions; a refused one answers a problem with a <code>code</code> that the check below explains.</p>
        {{#keyCheck}}
        <section class="card" style="max-width:none" role="status" aria-live="polite">
        <h2>{{#ok}}It works{{/ok}}{{^ok}}Refused{{#code}}: <code>{{code}}</code>{{/code}}{{/ok}}</h2>
        <p id="check-result" class="{{^ok}}error{{/ok}}">{{explanation}}</p>
        {{#hint}}<p>{{hint}}</p>{{/hint}}
        {{#notes}}<p>{{.}}</p>{{/notes}}
        {{#hasSteps}}<ol>{{#steps}}<li>{{#ok}}✓{{/ok}}{{^ok}}✗{{/ok}} {{step}}: {{detail}}</li>{{/steps}}</ol>{{/hasSteps}}
        </section>
        {{/keyCheck}}
        <h2>Check a secret key</h2>
        <form class="card" method="post" action="/cabinet/keys/check">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="mode" value="{{mode}}">
        <label for="key">The key, or the Authorization header your code sends (not stored)</label>
        <input id="key" name="key" type="password" autocomplete="off" required>
        <button type="submit">Check</button>
        </form>
        {{#testMode}}
        <h2>Diagnose a signed test request</h2>
        <form class="card" method="post" action="/cabinet/keys/check" style="max-width:40rem">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="mode" value="test">
        <label for="dialect">Dialect</label>
        <select id="dialect" name="dialect"><option value="mypos">myPOS IPC (form)</option><option value="alikassa">AliKassa (Account + Sign)</option><option value="rfc9421">HTTP Message Signatures (RFC 9421)</option></select>
        <label for="method">Method</label>
        <input id="method" name="method" type="text" value="POST">
        <label for="url">URL (RFC 9421)</label>
        <input id="url" name="url" type="text" placeholder="{{baseURL}}/v1/payments">
        <label for="headers">Headers, one "Name: value" per line</label>
        <textarea id="headers" name="headers" rows="4" style="width:100%"></textarea>
        <label for="body">Body, exactly as sent</label>
        <textarea id="body" name="body" rows="6" style="width:100%"></textarea>
        <button type="submit">Diagnose</button>
        </form>
        {{/testMode}}
        <p><a href="/cabinet/keys?mode={{mode}}">Back to the keys</a></p>
        {{> foot}}
        """
}
