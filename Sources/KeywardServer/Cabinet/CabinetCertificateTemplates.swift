/// Templates of the Certificates page, Apple Pay requests and sales channels.
extension CabinetTemplates {
    static let certificatesPage = """
        {{> head}}
        <h1>Certificates</h1>
        {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
        {{#hasCertificates}}
        <figure>
        <svg role="img" aria-labelledby="timeline-title" viewBox="0 0 {{chartWidth}} {{chartHeight}}" width="100%" style="max-width:{{chartWidth}}px">
        <title id="timeline-title">Expiry timeline, next {{chartDays}} days</title>
        <line x1="0" y1="{{axisY}}" x2="{{chartWidth}}" y2="{{axisY}}" stroke="currentColor" stroke-opacity=".4"/>
        {{#ticks}}<text x="{{x}}" y="{{y}}" font-size="11" fill="currentColor">{{label}}</text>{{/ticks}}
        {{{barsHTML}}}
        </svg>
        <figcaption>Days left until each certificate expires (red: expired or critical, orange: expiring).</figcaption>
        </figure>
        <table>
        <thead><tr><th scope="col">Name</th><th scope="col">Mode</th><th scope="col">Type</th><th scope="col">Status</th><th scope="col">Days left</th><th scope="col">Names</th><th scope="col">Issuer</th></tr></thead>
        <tbody>
        {{{certificateRowsHTML}}}
        </tbody>
        </table>
        {{/hasCertificates}}
        {{^hasCertificates}}<p>No certificates yet.</p>{{/hasCertificates}}
        {{#canWrite}}
        <h2>Upload</h2>
        <form class="card" method="post" action="/cabinet/certificates" enctype="multipart/form-data">
        {{#findings}}<p class="error">{{.}}</p>{{/findings}}
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="mode">Mode</label>
        <select id="mode" name="mode"><option value="live">live</option><option value="test">test</option></select>
        <label for="files">Certificate, private key and chain files (PEM, DER, PKCS#7; any order)</label>
        <input id="files" name="files" type="file" multiple accept=".pem,.crt,.cer,.der,.key,.p7b,.p7c">
        <label for="pem">or paste them (PEM)</label>
        <textarea id="pem" name="pem" rows="8" style="width:100%"></textarea>
        <label for="passphrase">Passphrase of an encrypted key</label>
        <input id="passphrase" name="passphrase" type="password" autocomplete="off">
        <button type="submit">Upload</button>
        </form>
        {{/canWrite}}
        <h2 id="channels">Sales channels</h2>
        <table>
        <thead><tr><th scope="col">Channel</th><th scope="col">Mode</th><th scope="col">Domains</th><th scope="col">SSL</th><th scope="col">Status</th></tr></thead>
        <tbody>
        {{{channelRowsHTML}}}
        </tbody>
        </table>
        {{#canWrite}}<p><a href="/cabinet/channels/new">New sales channel</a></p>{{/canWrite}}
        <h2 id="apple-pay">Apple Pay</h2>
        <table>
        <thead><tr><th scope="col">Request</th><th scope="col">Mode</th><th scope="col">Type</th><th scope="col">Key</th><th scope="col">Status</th></tr></thead>
        <tbody>
        {{{applePayRowsHTML}}}
        </tbody>
        </table>
        {{#canWrite}}
        <form class="card" method="post" action="/cabinet/apple-pay/requests">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="applepay-name">Merchant identifier or name</label>
        <input id="applepay-name" name="name" type="text" required maxlength="64" placeholder="merchant.com.example.shop">
        <label for="applepay-type">Certificate</label>
        <select id="applepay-type" name="type"><option value="apple_pay_payment_processing">Payment processing (EC P-256)</option><option value="apple_pay_merchant_identity">Merchant identity (RSA 2048)</option></select>
        <label for="applepay-mode">Mode</label>
        <select id="applepay-mode" name="mode"><option value="live">live</option><option value="test">test</option></select>
        <button type="submit">Make a CSR</button>
        </form>
        {{/canWrite}}
        {{> foot}}
        """

    static let applePayRequest = """
        {{> head}}
        {{#applePayRequest}}
        <h1>{{typeTitle}}: {{name}}</h1>
        {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
        <p>Request <code>{{id}}</code> ({{mode}} mode, {{keyType}} key kept sealed by Keyward), made {{created}}.</p>
        {{#completed}}<p role="status">Apple's certificate was accepted and stored. <a href="/cabinet/certificates">See the certificates</a></p>{{/completed}}
        {{^completed}}
        <ol>
        <li>Download the CSR: <a download="{{name}}.certSigningRequest" href="data:application/pkcs10;charset=utf-8,{{csrURLEncoded}}">{{name}}.certSigningRequest</a></li>
        <li>In Apple's developer portal, open your merchant ID, create the {{typeTitle}} certificate and upload the CSR.</li>
        <li>Download the <code>.cer</code> Apple gives you and upload it here.</li>
        </ol>
        <pre><code id="csr">{{csrPEM}}</code></pre>
        {{#canWrite}}
        <form class="card" method="post" action="/cabinet/apple-pay/requests/{{id}}/certificate" enctype="multipart/form-data">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="mode" value="{{mode}}">
        <label for="certificate">Apple's certificate (.cer)</label>
        <input id="certificate" name="certificate" type="file" accept=".cer,.pem,.crt" required>
        <button type="submit">Upload</button>
        </form>
        {{/canWrite}}
        {{/completed}}
        {{/applePayRequest}}
        <p><a href="/cabinet/certificates#apple-pay">Back to the certificates</a></p>
        {{> foot}}
        """

    static let channelPage = """
        {{> head}}
        {{#channel}}
        <h1>{{name}}</h1>
        <p>Domains: {{domains}} · {{mode}} mode · {{#managed}}certificate obtained and renewed by Keyward (ACME){{/managed}}{{^managed}}uploaded certificate{{/managed}}</p>
        <p role="status" aria-live="polite">Status: <strong>{{status}}</strong> · {{detail}}{{#inProgress}} (this page refreshes itself while the order runs){{/inProgress}}</p>
        {{#renewAt}}<p>Renews around {{renewAt}} UTC.</p>{{/renewAt}}
        {{#nextAttempt}}<p>Next attempt: {{nextAttempt}} UTC.</p>{{/nextAttempt}}
        {{#renewable}}{{#canWrite}}<form method="post" action="/cabinet/channels/{{id}}/renew"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="mode" value="{{mode}}"><button type="submit">Renew now</button></form>{{/canWrite}}{{/renewable}}
        <h2 id="verification">Domain verification</h2>
        <p>Nothing is served on a domain (no certificate, no ACME order, no Apple Pay file) until you prove you control it: publish the TXT record, or serve the token over plain HTTP from the domain's current host, then check. Keyward also checks on its own, and checks verified domains again every {{recheckHours}} hours.</p>
        <table style="table-layout:fixed;width:100%">
        <thead><tr><th scope="col">Domain</th><th scope="col">Status</th><th scope="col">DNS: a TXT record</th><th scope="col">Or HTTP: a file</th></tr></thead>
        <tbody>
        {{#verifications}}<tr><td>{{display}}{{#punycode}}<br><code>{{domain}}</code>{{/punycode}}</td><td><strong class="badge-{{badge}}">{{status}}</strong>{{#method}} ({{method}}){{/method}}{{#lastChecked}}<br>checked {{lastChecked}}{{/lastChecked}}{{#lastError}}<br>{{lastError}}{{/lastError}}</td>
        <td style="overflow-wrap:anywhere">Name <code>{{txtName}}</code><br>Value <code>{{token}}</code></td><td style="overflow-wrap:anywhere">{{#httpURL}}<code>{{httpURL}}</code><br>answering <code>{{token}}</code>{{/httpURL}}{{^httpURL}}DNS only (wildcard){{/httpURL}}</td></tr>
        {{/verifications}}
        </tbody>
        </table>
        {{#canWrite}}<form method="post" action="/cabinet/channels/{{id}}/verify"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="mode" value="{{mode}}"><button type="submit">Check now</button></form>{{/canWrite}}
        <h2>History</h2>
        <table>
        <thead><tr><th scope="col">When (UTC)</th><th scope="col">Event</th><th scope="col">Details</th></tr></thead>
        <tbody>
        {{#events}}<tr><td>{{at}}</td><td>{{kind}}</td><td>{{message}}</td></tr>{{/events}}
        </tbody>
        </table>
        {{/channel}}
        <p><a href="/cabinet/certificates#channels">Back to the certificates</a></p>
        {{> foot}}
        """

    static let newChannel = """
        {{> head}}
        <h1>New sales channel</h1>
        {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
                <form class="card" method="post" action="/cabinet/channels">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="channel-name">Name</label>
        <input id="channel-name" name="name" type="text" required maxlength="200" placeholder="Web shop">
        <label for="channel-mode">Mode</label>
        <select id="channel-mode" name="mode"><option value="live">live</option><option value="test">test</option></select>
        <label for="domains">Domains (one per line)</label>
        <textarea id="domains" name="domains" rows="3" style="width:100%" required></textarea>
        <fieldset><legend>Certificate</legend>
        <label><input type="radio" name="ssl_mode" value="managed" checked> Obtained and renewed by Keyward (ACME)</label>
        <label><input type="radio" name="ssl_mode" value="uploaded"> An uploaded certificate:</label>
        <label for="certificate_id" class="visually-hidden">Uploaded certificate</label>
        <select id="certificate_id" name="certificate_id"><option value="">(choose)</option>{{{certificateOptionsHTML}}}</select>
        </fieldset>
        <button type="submit">Create channel</button>
        </form>
                <p><a href="/cabinet/certificates#channels">Back to the certificates</a></p>
        {{> foot}}
        """
}
