#!/usr/bin/env python3
"""Drives the merchant cabinet in headless Chromium (selenium + chromium-driver), as a merchant would.

  cabinet_browser.py BASE_URL OWNER_SETUP_LINK OWNER_EMAIL SCREENSHOT_DIR

The owner chooses a password, signs in, enrols TOTP with codes from pyotp, generates a test key (seen
once, then never again), uses it, revokes it after confirming, uploads a certificate made by openssl,
creates a custom role and invites a member with it; the member accepts, signs in and cannot reach
what the role lacks. Prints one JSON report; exits 1 on the first failed check (with what was seen).
Screenshots of the main pages go to SCREENSHOT_DIR.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import pyotp
import requests
import urllib3
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

urllib3.disable_warnings()
BASE, SETUP_LINK, OWNER_EMAIL, SHOTS = sys.argv[1:5]
PASSWORD = "correct horse battery staple"
report = {"checks": []}
current = {}  # the driver in use, for the failure screenshot


def fail(name, detail):
    driver = current.get("driver")
    if driver is not None:
        shot(driver, "failure")
        alerts = [element.text for element in driver.find_elements(By.CSS_SELECTOR, "[role=alert]")]
        detail = f"{detail} (page: {driver.current_url}, alerts: {alerts})"
    report["failed"] = {"check": name, "detail": detail}
    print(json.dumps(report))
    print(json.dumps(report), file=sys.stderr)  # the test runner shows stderr of a failed peer
    sys.exit(1)


def check(name, condition, detail=""):
    if not condition:
        fail(name, detail)
    report["checks"].append(name)


def browser():
    for program in ("/usr/bin/chromium", "/usr/bin/chromedriver"):
        if not os.access(program, os.X_OK):
            sys.exit(f"{program} is not installed: scripts/test (the README's test command) installs it")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
                     "--disable-gpu", "--no-first-run"):
        options.add_argument(argument)
    # The server's certificate comes from Keyward's local CA; cookies stay Secure (__Host-) over HTTPS.
    options.accept_insecure_certs = True
    service = webdriver.ChromeService(executable_path="/usr/bin/chromedriver")
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    return driver


def shot(driver, name):
    os.makedirs(SHOTS, exist_ok=True)
    driver.save_screenshot(os.path.join(SHOTS, name + ".png"))


def fill(driver, field_id, text):
    element = driver.find_element(By.ID, field_id)
    element.clear()
    element.send_keys(text)


def click_and_wait(driver, element):
    """Clicks a button or link and waits for the next page (a click does not wait for navigation)."""
    # A marker on the old page's window: gone once the next document has replaced it.
    driver.execute_script("window.keywardOldPage = true")
    element.click()
    WebDriverWait(driver, 20).until(
        lambda d: d.execute_script("return window.keywardOldPage !== true && document.readyState === 'complete'"))


def submit(driver, css="button[type=submit]"):
    click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, css))


def follow(driver, link_text):
    click_and_wait(driver, driver.find_element(By.LINK_TEXT, link_text))


def heading(driver):
    return driver.find_element(By.TAG_NAME, "h1").text


def fresh_code(secret, last):
    """A TOTP code that differs from the last one used (codes are single-use)."""
    totp = pyotp.TOTP(secret)
    code = totp.now()
    while code == last:
        time.sleep(1)
        code = totp.now()
    return code


def sign_in(driver, email, password):
    driver.get(BASE + "/cabinet/login")
    fill(driver, "email", email)
    fill(driver, "password", password)
    submit(driver)


def owner_journey(driver):
    # 1. The setup link `keyward user create` printed: choose a password, then sign in.
    driver.get(SETUP_LINK)
    check("setup page", heading(driver) == "Choose your password", heading(driver))
    fill(driver, "password", PASSWORD)
    submit(driver)
    check("setup leads to sign-in", driver.current_url.endswith("/cabinet/login"), driver.current_url)
    fill(driver, "email", OWNER_EMAIL)
    fill(driver, "password", "not the password")
    submit(driver)
    check("wrong password refused", "Wrong email or password." in driver.page_source, driver.page_source[:500])
    sign_in(driver, OWNER_EMAIL, PASSWORD)

    # 2. An owner can see live keys, so a second factor is required: enrol with the secret shown.
    check("owner must enrol", driver.current_url.endswith("/cabinet/2fa/setup"), driver.current_url)
    shot(driver, "01-enrol")
    secret = driver.find_element(By.ID, "totp-secret").text.replace(" ", "")
    # The QR code as Chromium draws it, read by a real decoder (zbarimg): the phone gets the same secret.
    qr = driver.find_element(By.CSS_SELECTOR, ".qr svg[role=img]")
    image = os.path.join(SHOTS, "qr.png")
    os.makedirs(SHOTS, exist_ok=True)
    with open(image, "wb") as file:
        file.write(qr.screenshot_as_png)
    scanned = subprocess.run(["zbarimg", "--raw", "-q", image], capture_output=True, text=True).stdout.strip()
    check("QR code scans to the otpauth link", scanned.startswith("otpauth://totp/Keyward:") and f"secret={secret}" in scanned, scanned)
    fill(driver, "code", "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    submit(driver)
    alerts = " ".join(element.text for element in driver.find_elements(By.CSS_SELECTOR, "[role=alert]"))
    check("wrong TOTP refused", "does not match" in alerts, alerts)
    check("same secret after a mistyped code", driver.find_element(By.ID, "totp-secret").text.replace(" ", "") == secret)
    code = fresh_code(secret, None)
    fill(driver, "code", code)
    submit(driver)
    check("recovery codes shown once", heading(driver) == "Recovery codes", heading(driver))
    codes = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "ul.codes li")]
    check("ten recovery codes", len(codes) == 10, str(len(codes)))
    shot(driver, "02-recovery-codes")
    follow(driver, "Continue to the cabinet")
    check("overview", heading(driver) == "Browser Shop", heading(driver))
    shot(driver, "03-overview")
    return secret, code


def keys_journey(driver):
    # 3. Generate a test key: the secret appears once, with a curl to try it.
    follow(driver, "Keys")
    check("keys page", "Secret keys" in heading(driver), heading(driver))
    fill(driver, "name", "checkout <script>alert(1)</script>")
    submit(driver, "form[action='/cabinet/keys'] button")
    check("key created", heading(driver) == "Key created", heading(driver))
    secret = driver.find_element(By.ID, "secret").text
    check("test key format", re.fullmatch(r"kw_test_[A-Za-z0-9]+", secret) is not None, secret[:8])
    shot(driver, "04-key-created")
    answer = requests.get(BASE + "/v1/auth/test", headers={"Authorization": "Bearer " + secret}, verify=False)
    check("new key authenticates", answer.status_code == 200, str(answer.status_code))

    driver.get(BASE + "/cabinet/keys?mode=test")
    page = driver.page_source
    check("secret never shown again", secret not in page)
    check("key name escaped", "<script>alert(1)" not in page and "checkout" in page)
    shot(driver, "05-keys")

    # 4. Revoke asks for confirmation first; then the key stops working at once.
    click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "a[href*='/revoke']"))
    check("revoke asks to confirm", heading(driver).startswith("Revoke"), heading(driver))
    shot(driver, "06-revoke-confirm")
    answer = requests.get(BASE + "/v1/auth/test", headers={"Authorization": "Bearer " + secret}, verify=False)
    check("not revoked before confirming", answer.status_code == 200, str(answer.status_code))
    submit(driver, "form[action$='/revoke'] button")
    check("back on keys after revoking", "/cabinet/keys" in driver.current_url, driver.current_url)
    check("key shown revoked", "revoked" in driver.page_source)
    answer = requests.get(BASE + "/v1/auth/test", headers={"Authorization": "Bearer " + secret}, verify=False)
    check("revoked key refused", answer.status_code == 401 and answer.json().get("code") == "key_revoked", answer.text[:200])

    # 5. The test-request helper explains the refusal a developer just saw.
    follow(driver, "Make a test request")
    fill(driver, "key", "Bearer " + secret)
    submit(driver, "form[action='/cabinet/keys/check'] button")
    result = driver.find_element(By.ID, "check-result").text
    check("helper explains the revoked key", "revoked" in result and secret not in driver.page_source, result)
    shot(driver, "07-test-request")


def certificate_journey(driver):
    # 6. Upload a certificate and key made by openssl; it is listed with its days left.
    folder = tempfile.mkdtemp()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", folder + "/key.pem", "-out", folder + "/cert.pem", "-days", "10",
                    "-subj", "/CN=pay.browser.example", "-addext", "subjectAltName=DNS:pay.browser.example"],
                   check=True, capture_output=True)
    pem = open(folder + "/cert.pem").read() + open(folder + "/key.pem").read()
    follow(driver, "Certificates")
    check("certificates page", heading(driver) == "Certificates", heading(driver))
    fill(driver, "pem", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    submit(driver, "form[action='/cabinet/certificates'] button")
    alerts = " ".join(element.text for element in driver.find_elements(By.CSS_SELECTOR, "[role=alert]"))
    check("bad upload explained", "PEM block is damaged" in alerts, alerts)
    fill(driver, "pem", pem)
    submit(driver, "form[action='/cabinet/certificates'] button")
    check("certificate listed", "pay.browser.example" in driver.page_source)
    check("critical banner", len(driver.find_elements(By.CSS_SELECTOR, ".banner[role=alert]")) == 1)
    shot(driver, "09-certificates")


def settings_journey(driver):
    # 7. Settings: a shorter rotation period, and a bad allowlist entry explained.
    follow(driver, "Settings")
    fill(driver, "rotation_days", "30")
    fill(driver, "allowed_ips", "203.0.113.0/24\nnot-an-address")
    submit(driver, "form[action='/cabinet/settings'] button")
    alerts = " ".join(element.text for element in driver.find_elements(By.CSS_SELECTOR, "[role=alert]"))
    check("bad allowlist explained", "not-an-address" in alerts, alerts)
    fill(driver, "rotation_days", "30")
    fill(driver, "allowed_ips", "")
    submit(driver, "form[action='/cabinet/settings'] button")
    check("settings saved", "Settings saved." in driver.page_source)
    shot(driver, "08-settings")


def team_journey(driver):
    # 8. A custom role that may read certificates and the audit log, nothing else; invite with it.
    follow(driver, "Team")
    check("team page", heading(driver) == "Team", heading(driver))
    fill(driver, "role-name", "Auditor")
    driver.find_element(By.CSS_SELECTOR, "input[name='permission.audit.read']").click()
    driver.find_element(By.CSS_SELECTOR, "input[name='permission.certificates.read']").click()
    submit(driver, "form[action='/cabinet/team/roles'] button")
    fill(driver, "invite-email", "auditor@browser.example")
    select = driver.find_element(By.ID, "invite-role")
    select.find_element(By.XPATH, "option[normalize-space(.)='Auditor']").click()
    submit(driver, "form[action='/cabinet/team/invite'] button")
    check("invitation link shown", heading(driver) == "Invitation ready", heading(driver))
    link = driver.find_element(By.ID, "invitation-link").text
    # Links are built from the server's public URL; this test server listens on a port chosen at start,
    # so the link's path is followed on the address the test reaches it at.
    check("invitation link names the invite page", "/cabinet/invite?token=" in link, link)
    link = BASE + link[link.index("/cabinet/invite?token="):]
    shot(driver, "10-invited")
    driver.get(BASE + "/cabinet/team")
    shot(driver, "11-team")
    driver.get(BASE + "/cabinet/audit")
    check("audit lists the invitation", "member.invite Auditor" in driver.page_source)
    shot(driver, "12-audit")
    submit(driver, "header form button")
    check("signed out", driver.current_url.endswith("/cabinet/login"), driver.current_url)
    return link


def member_journey(driver, link):
    # 9. The member accepts, signs in, and meets the limits of the role.
    driver.get(link)
    check("invitation page", heading(driver) == "Join the team", heading(driver))
    fill(driver, "password", "the auditor's own passphrase")
    submit(driver)
    sign_in(driver, "auditor@browser.example", "the auditor's own passphrase")
    check("member signed in without 2FA", driver.current_url.endswith("/cabinet"), driver.current_url)
    nav = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "header nav a")]
    check("nav shows only what the role may", nav == ["Overview", "Certificates", "Audit"], str(nav))
    for path, lacking in (("/cabinet/keys?mode=test", "keys.read"), ("/cabinet/keys?mode=live", "keys"),
                          ("/cabinet/team", "team.manage"), ("/cabinet/settings", "settings.write")):
        driver.get(BASE + path)
        check("member refused " + path, heading(driver) == "Forbidden" and lacking in driver.page_source, heading(driver))
    shot(driver, "13-member-forbidden")
    driver.get(BASE + "/cabinet/certificates")
    check("member reads certificates", "pay.browser.example" in driver.page_source)
    check("member cannot upload", not driver.find_elements(By.ID, "pem"))
    driver.get(BASE + "/cabinet/audit")
    check("member reads the audit log", heading(driver) == "Audit log", heading(driver))


def main():
    driver = browser()
    current["driver"] = driver
    try:
        owner_journey(driver)
        keys_journey(driver)
        certificate_journey(driver)
        settings_journey(driver)
        link = team_journey(driver)
        driver.delete_all_cookies()
        member_journey(driver, link)
    except SystemExit:
        raise
    except Exception as error:  # a missing element or a timeout: report where we were
        fail("unexpected " + type(error).__name__, f"{error} at {driver.current_url}".strip()[:500])
    finally:
        driver.quit()
    print(json.dumps(report))


main()
