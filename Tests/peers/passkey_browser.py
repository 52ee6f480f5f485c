#!/usr/bin/env python3
"""Passkeys in headless Chromium (selenium + chromium-driver), with Chromium's virtual authenticator.

  passkey_browser.py BASE_URL EMAIL PASSWORD TOTP_SECRET SCREENSHOT_DIR

An owner with TOTP signs in, adds a passkey on the account page (the cabinet's one script calls
navigator.credentials.create), signs out, and signs in again with the passkey alone
(navigator.credentials.get). Prints one JSON report; exits 1 on the first failed check.
"""
import json
import os
import sys

import pyotp
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.virtual_authenticator import Protocol, Transport, VirtualAuthenticatorOptions
from selenium.webdriver.support.ui import WebDriverWait

BASE, EMAIL, PASSWORD, TOTP_SECRET, SHOTS = sys.argv[1:6]
report = {"checks": []}
current = {}


def fail(name, detail):
    driver = current.get("driver")
    if driver is not None:
        shot(driver, "failure")
        alerts = [element.text for element in driver.find_elements(By.CSS_SELECTOR, "[role=alert], [role=status]")]
        logs = []
        try:
            logs = [entry.get("message", "") for entry in driver.get_log("browser")]
        except Exception:
            pass
        detail = f"{detail} (page: {driver.current_url}, alerts: {alerts}, console: {logs[-5:]})"
    report["failed"] = {"check": name, "detail": detail}
    print(json.dumps(report))
    print(json.dumps(report), file=sys.stderr)
    sys.exit(1)


def check(name, condition, detail=""):
    if not condition:
        fail(name, detail)
    report["checks"].append(name)


def shot(driver, name):
    os.makedirs(SHOTS, exist_ok=True)
    driver.save_screenshot(os.path.join(SHOTS, name + ".png"))


def browser():
    for program in ("/usr/bin/chromium", "/usr/bin/chromedriver"):
        if not os.access(program, os.X_OK):
            sys.exit(f"{program} is not installed: scripts/test (the README's test command) installs it")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000", "--disable-gpu", "--no-first-run"):
        options.add_argument(argument)
    options.accept_insecure_certs = True
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path="/usr/bin/chromedriver"))
    driver.set_page_load_timeout(30)
    return driver


def fill(driver, field_id, text):
    element = driver.find_element(By.ID, field_id)
    element.clear()
    element.send_keys(text)


def click_and_wait(driver, element):
    driver.execute_script("window.keywardOldPage = true")
    element.click()
    WebDriverWait(driver, 20).until(
        lambda d: d.execute_script("return window.keywardOldPage !== true && document.readyState === 'complete'"))


def heading(driver):
    return driver.find_element(By.TAG_NAME, "h1").text


def sign_in_with_password(driver):
    driver.get(BASE + "/cabinet/login")
    fill(driver, "email", EMAIL)
    fill(driver, "password", PASSWORD)
    click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "button[type=submit]"))


def main():
    driver = browser()
    current["driver"] = driver
    try:
        # A platform authenticator that verifies its user (as Touch ID or Windows Hello would).
        driver.add_virtual_authenticator(VirtualAuthenticatorOptions(
            protocol=Protocol.CTAP2, transport=Transport.INTERNAL, has_resident_key=True, has_user_verification=True,
            is_user_consenting=True, is_user_verified=True))
        sign_in_with_password(driver)
        check("asked for the second factor", driver.current_url.endswith("/cabinet/2fa"), driver.current_url)
        fill(driver, "code", pyotp.TOTP(TOTP_SECRET).now())
        click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "button[type=submit]"))
        check("signed in with TOTP", driver.current_url.endswith("/cabinet"), driver.current_url)

        driver.get(BASE + "/cabinet/account")
        check("account page offers passkeys", len(driver.find_elements(By.ID, "passkey-add")) == 1)
        shot(driver, "01-account")
        fill(driver, "passkey-name", "Chromium <virtual>")
        click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "#passkey-add button[type=submit]"))
        check("passkey added", driver.current_url.endswith("/cabinet/account?passkey=added"), driver.current_url)
        rows = [row.text for row in driver.find_elements(By.CSS_SELECTOR, "#passkeys tbody tr")]
        check("passkey listed by name", len(rows) == 1 and "Chromium <virtual>" in rows[0] and "ES256" in rows[0], str(rows))
        check("authenticator holds the credential", len(driver.get_credentials()) == 1, str(len(driver.get_credentials())))
        shot(driver, "02-passkey-added")

        # Sign out, then in again: the password, then the passkey alone.
        click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "header form button"))
        sign_in_with_password(driver)
        check("asked for the passkey", driver.current_url.endswith("/cabinet/2fa") and len(driver.find_elements(By.ID, "passkey-sign-in")) == 1,
              driver.current_url)
        shot(driver, "03-passkey-step")
        click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "#passkey-sign-in button[type=submit]"))
        check("signed in with the passkey", driver.current_url.endswith("/cabinet"), driver.current_url)
        check("overview shown", heading(driver) != "Two-factor authentication", heading(driver))
        sign_count = driver.get_credentials()[0].sign_count
        check("authenticator counted the signature", sign_count >= 1, str(sign_count))
        violations = [entry.get("message", "") for entry in driver.get_log("browser") if "Content Security Policy" in entry.get("message", "")]
        check("no CSP violations", not violations, str(violations[:3]))
        shot(driver, "04-signed-in-with-passkey")
    except SystemExit:
        raise
    except Exception as error:
        fail("unexpected " + type(error).__name__, f"{error} at {driver.current_url}".strip()[:500])
    finally:
        driver.quit()
    print(json.dumps(report))


main()
