import Mustache

/// The cabinet's pages (Mustache; `{{value}}` is HTML-escaped, so names and messages are safe to show).
/// Kept in the binary: one file to deploy, nothing to find at run time.
enum CabinetTemplates {
    static func library() throws -> MustacheLibrary {
        var library = MustacheLibrary()
        for (name, text) in all + passkeyTemplates { try library.register(text, named: name) }
        return library
    }

    static let all: [(String, String)] = [
        ("head", head), ("foot", foot), ("login", login), ("second-factor", secondFactor),
        ("enrol", enrol), ("recovery-codes", recoveryCodes), ("overview", overview), ("error", error),
        ("setup", setup), ("keys", keys), ("key-created", keyCreated), ("key-action", keyAction), ("key-check", keyCheck),
        ("credential-created", credentialCreated), ("credential-revoke", credentialRevoke),
        ("settings", settings), ("forgot", forgot), ("reset", reset), ("apple-pay-request", applePayRequest), ("channel", channelPage),
        ("new-channel", newChannel), ("account", account),
        ("team", team), ("invited", invited), ("accept", accept), ("audit", audit),
        ("certificates", certificatesPage), ("credential-limits", credentialLimits),
    ]

    static let head = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · Keyward</title>
        {{#refreshSeconds}}<meta http-equiv="refresh" content="{{refreshSeconds}}">{{/refreshSeconds}}
        <style>
        :root { color-scheme: light dark; --accent: #3b5bdb; --danger: #c92a2a; --warn: #e67700; }
        body { font: 16px/1.5 system-ui, sans-serif; margin: 0; }
        header { display: flex; gap: 1.5rem; align-items: center; padding: .75rem 1.5rem; border-bottom: 1px solid #8884; }
        header strong { font-size: 1.1rem; }
        header nav { display: flex; gap: 1rem; flex: 1; }
        main { max-width: 56rem; margin: 2rem auto; padding: 0 1.5rem; }
        form.card, section.card { border: 1px solid #8886; border-radius: .5rem; padding: 1.5rem; max-width: 24rem; }
        label { display: block; margin: .75rem 0 .25rem; font-weight: 600; }
        input[type=email], input[type=password], input[type=text], input[type=number], input[type=url], select, textarea { width: 100%; box-sizing: border-box; padding: .5rem; font: inherit; }
        td select, td input { width: auto; }
        button { margin-top: 1rem; padding: .5rem 1rem; font: inherit; background: var(--accent); color: white; border: 0; border-radius: .25rem; cursor: pointer; }
        button:focus-visible, a:focus-visible, input:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
        .error { color: var(--danger); font-weight: 600; }
        .banner { padding: .75rem 1.5rem; background: var(--danger); color: white; }
        .banner a { color: white; }
        code, .codes { font-family: ui-monospace, monospace; }
        .codes { columns: 2; list-style: none; padding: 0; }
        .badge-expired, .badge-critical, a.danger { color: var(--danger); } button.danger { background: var(--danger); } .badge-expiring { color: var(--warn); }
        .qr svg { width: 220px; height: 220px; }
        [aria-current=page] { font-weight: 700; text-decoration: none; }
        .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
        table { border-collapse: collapse; margin: 1rem 0; } th, td { padding: .35rem .75rem; border-bottom: 1px solid #8884; text-align: left; }
        </style>
        </head>
        <body>
        {{#banner}}{{#certificateAlert}}<div class="banner" role="alert">{{certificateAlert}}{{#nav.certificates}} <a href="/cabinet/certificates">See the certificates</a>{{/nav.certificates}}</div>{{/certificateAlert}}{{#hasLeaks}}<div class="banner" role="alert" id="leak-banner"><strong>Leaked keys.</strong>{{#leaks}} {{.}}{{/leaks}}{{#moreLeaks}} And {{moreLeaks}} more in the last 14 days.{{/moreLeaks}}{{#nav.keys}} <a href="/cabinet/keys?mode={{leakMode}}">See the keys</a>{{/nav.keys}}</div>{{/hasLeaks}}{{/banner}}
        {{#signedIn}}
        <header>
        <strong>Keyward</strong>
        <nav aria-label="Main"><a href="/cabinet">Overview</a>{{#nav.keys}} <a href="/cabinet/keys?mode=test">Keys</a>{{/nav.keys}}{{#nav.certificates}} <a href="/cabinet/certificates">Certificates</a>{{/nav.certificates}}{{#nav.team}} <a href="/cabinet/team">Team</a>{{/nav.team}}{{#nav.audit}} <a href="/cabinet/audit">Audit</a>{{/nav.audit}}{{#nav.settings}} <a href="/cabinet/settings">Settings</a>{{/nav.settings}}</nav>
        <span><a href="/cabinet/account">{{email}}</a> · {{merchantName}} ({{role}})</span>
        <form method="post" action="/cabinet/logout"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">Sign out</button></form>
        </header>
        {{/signedIn}}
        <main>
        """

    static let foot = """
        </main>
        </body>
        </html>
        """

    static let login = """
        {{> head}}
        <h1>Sign in</h1>
        <form class="card" method="post" action="/cabinet/login">
        {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="email">Email</label>
        <input id="email" name="email" type="email" autocomplete="username" required value="{{email}}">
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required>
        <button type="submit">Sign in</button>
        <p><a href="/cabinet/forgot">Forgot your password?</a></p>
        </form>
        {{> foot}}
        """

    static let setup = """
        {{> head}}
        <h1>Choose your password</h1>
        <form class="card" method="post" action="/cabinet/setup">
        {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="token" value="{{secret}}">
        <label for="password">Password (12 characters or more)</label>
        <input id="password" name="password" type="password" autocomplete="new-password" minlength="12" required>
        <button type="submit">Save and sign in</button>
        </form>
        {{> foot}}
        """

    static let team = """
        {{> head}}
        <h1>Team</h1>
        <table>
        <thead><tr><th scope="col">Member</th><th scope="col">Role</th><th scope="col">Since</th><th scope="col">Change role</th><th scope="col"></th></tr></thead>
        <tbody>
        {{#members}}<tr><td>{{email}}</td><td>{{role}}</td><td>{{since}}</td>
        <td><form method="post" action="/cabinet/team/{{userID}}/role"><input type="hidden" name="csrf" value="{{csrf}}">
        <label for="role-{{userID}}" class="visually-hidden">Role of {{email}}</label>
        <select id="role-{{userID}}" name="role">{{#roles}}<option value="{{value}}">{{name}}</option>{{/roles}}</select>
        <button type="submit">Change</button></form></td>
        <td><form method="post" action="/cabinet/team/{{userID}}/remove"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" aria-label="Remove {{email}}">Remove</button></form></td></tr>
        {{/members}}
        </tbody>
        </table>
        <h2>Invite a member</h2>
        <form class="card" method="post" action="/cabinet/team/invite">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="invite-email">Email</label>
        <input id="invite-email" name="email" type="email" required>
        <label for="invite-role">Role</label>
        <select id="invite-role" name="role">{{#roles}}<option value="{{value}}">{{name}}</option>{{/roles}}</select>
        <button type="submit">Invite</button>
        </form>
        <h2>Custom role</h2>
        <form class="card" method="post" action="/cabinet/team/roles">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="role-name">Name</label>
        <input id="role-name" name="name" type="text" required maxlength="60">
        <fieldset><legend>Permissions</legend>
        {{#permissions}}<label><input type="checkbox" name="permission.{{.}}" value="on"> {{.}}</label>{{/permissions}}
        </fieldset>
        <button type="submit">Create role</button>
        </form>
        {{> foot}}
        """

    static let invited = """
        {{> head}}
        <h1>Invitation ready</h1>
        {{#notice}}<p role="status">{{notice}}</p>{{/notice}}
        {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
        {{#uri}}<p>The link for {{email}} (valid 7 days, once); send it to them yourself.</p>
        <p><code id="invitation-link">{{uri}}</code></p>{{/uri}}
        <p><a href="/cabinet/team">Back to the team</a></p>
        {{> foot}}
        """

    static let accept = """
        {{> head}}
        <h1>Join the team</h1>
        {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
        {{#invitation}}
        <p id="invitation-grants">This invitation for <strong>{{email}}</strong> makes you <strong>{{role}}</strong> at <strong>{{merchant}}</strong>.</p>
        {{#pending}}<p>The account of {{email}} is waiting to be set up with its own setup link. Once it is, sign in and open this invitation again.</p>{{/pending}}
        {{#mustSignIn}}<p>{{email}} already has an account: <a href="/cabinet/login">sign in to it</a>, then open this invitation again.</p>{{/mustSignIn}}
        {{#newAccount}}
        <form class="card" method="post" action="/cabinet/invite">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="token" value="{{secret}}">
        <label for="password">Choose a password for your new account (12 characters or more)</label>
        <input id="password" name="password" type="password" autocomplete="new-password" minlength="12" required>
        <button type="submit">Accept</button>
        </form>
        {{/newAccount}}
        {{#canAccept}}
        <form class="card" method="post" action="/cabinet/invite">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="token" value="{{secret}}">
        <button type="submit">Accept as {{email}}</button>
        </form>
        {{/canAccept}}
        {{/invitation}}
        {{> foot}}
        """

    static let audit = """
        {{> head}}
        <h1>Audit log</h1>
        <form method="get" action="/cabinet/audit"><label for="action">Filter by action</label>
        <input id="action" name="action" type="text" value="{{filter}}"><button type="submit">Filter</button></form>
        <table>
        <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">From</th><th scope="col">What</th><th scope="col">Object</th><th scope="col">Outcome</th></tr></thead>
        <tbody>
        {{#entries}}<tr><td>{{at}}</td><td>{{actor}}</td><td>{{address}}</td><td>{{action}}</td><td>{{target}}</td><td>{{outcome}}</td></tr>{{/entries}}
        </tbody>
        </table>
        {{> foot}}
        """

    static let secondFactor = """
        {{> head}}
        <h1>Two-factor authentication</h1>
        <form class="card" method="post" action="/cabinet/2fa">
        {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="code">Code from your authenticator app, or a recovery code</label>
        <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required autofocus>
        <button type="submit">Continue</button>
        </form>
        {{> foot}}
        """

    static let enrol = """
        {{> head}}
        <h1>Turn on two-factor authentication</h1>
        <p>{{reason}} Scan the code with an authenticator app (or type the secret, or open the link on your
        phone), then enter the code it shows.</p>
        <section class="card">
        <div class="qr">{{{qrSVG}}}</div>
        <p>Secret: <code id="totp-secret">{{secret}}</code></p>
        <p><a href="{{uri}}">Open in an authenticator app</a></p>
        <form method="post" action="/cabinet/2fa/setup">
        {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="code">Code</label>
        <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required>
        <button type="submit">Turn on</button>
        </form>
        </section>
        {{> foot}}
        """

    static let recoveryCodes = """
        {{> head}}
        <h1>Recovery codes</h1>
        <p>Each code signs you in once if you lose your device. They are shown <strong>only now</strong>: print them or keep them in a password manager.</p>
        <ul class="codes">{{#codes}}<li>{{.}}</li>{{/codes}}</ul>
        <p><a href="/cabinet">Continue to the cabinet</a></p>
        {{> foot}}
        """

    static let overview = """
        {{> head}}
        <h1>{{merchantName}}</h1>
        <p>Signed in as {{email}}, {{role}}.</p>
        {{#hasOtherMerchants}}
        <form method="post" action="/cabinet/switch">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="merchant">You are also a member of</label>
        <select id="merchant" name="merchant">{{#merchants}}<option value="{{id}}">{{name}}</option>{{/merchants}}</select>
        <button type="submit">Switch</button>
        </form>
        {{/hasOtherMerchants}}
        <h2>Certificates</h2>
        {{^certificates}}<p>No certificates yet.</p>{{/certificates}}
        {{#hasCertificates}}
        <table>
        <thead><tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Days left</th><th scope="col">Expires</th></tr></thead>
        <tbody>
        {{#certificates}}<tr><td>{{name}}</td><td>{{status}}</td><td>{{daysLeft}}</td><td>{{notAfter}}</td></tr>{{/certificates}}
        </tbody>
        </table>
        {{/hasCertificates}}
        {{> foot}}
        """

    static let error = """
        {{> head}}
        <h1>{{title}}</h1>
        <p>{{message}}</p>
        <p><a href="/cabinet">Back to the cabinet</a></p>
        {{> foot}}
        """
}
