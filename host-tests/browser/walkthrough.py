#!/usr/bin/env python3
"""A person using both apps in one browser: headless Chromium driven by Selenium.

Logs in on the wasm app, sees the user on a Django page, adds to the cart in Django, sees it
on the wasm app, logs out in one and is logged out in both; then the other way round.
Saves a screenshot of each step into --shots. Exits 0 when every check held; on the first
that does not, prints what the page showed and exits 1.

Usage: walkthrough.py --wasm URL --django URL --shots DIR
       [--chromium /usr/bin/chromium] [--chromedriver /usr/bin/chromedriver]
"""

import argparse
import sys
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait


class Check(Exception):
    pass


class Walk:
    def __init__(self, driver, wasm, django, shots):
        self.driver, self.wasm, self.django, self.shots = driver, wasm.rstrip("/"), django.rstrip("/"), shots
        self.step = 0

    def open(self, app, path):
        base = self.wasm if app == "wasm" else self.django
        self.driver.get(base + path)
        self.expect_app(app)

    def expect_app(self, app):
        served_by = self.driver.find_element(By.ID, "served-by").get_attribute("data-app")
        if served_by != app:
            raise Check(f"expected a page of the {app} app, got one of {served_by!r}")

    def user(self):
        found = self.driver.find_elements(By.ID, "user")
        return found[0].text if found else None

    def expect_user(self, name):
        if self.user() != name:
            raise Check(f"expected user {name!r}, the page shows {self.user()!r}")

    def cart(self):
        return [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, "#cart .item")]

    def expect_cart(self, items):
        if self.cart() != items:
            raise Check(f"expected the cart {items!r}, the page shows {self.cart()!r}")

    def shot(self, name):
        self.step += 1
        path = self.shots / f"{self.step:02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        print(f"step {self.step}: {name} ({self.driver.current_url})", flush=True)

    def submit(self, button_id):
        """Clicks a form's button and waits for the page it leads to (the old one goes stale)."""
        old_page = self.driver.find_element(By.TAG_NAME, "html")
        self.driver.find_element(By.ID, button_id).click()
        WebDriverWait(self.driver, 30).until(expected_conditions.staleness_of(old_page))

    def log_in(self, app, name):
        self.open(app, "/login")
        self.driver.find_element(By.ID, "username").send_keys(name)
        self.submit("login")
        self.expect_app(app)
        self.expect_user(name)

    def add_to_cart(self, app, item):
        self.open(app, "/cart")
        self.driver.find_element(By.ID, "item").send_keys(item)
        self.submit("add")
        self.expect_app(app)

    def log_out(self, app):
        self.open(app, "/")
        self.submit("logout")
        self.expect_app(app)
        self.expect_user(None)

    def session_cookies(self):
        return [c for c in self.driver.get_cookies() if c["name"] == "sessionid"]


def walk(w):
    # Log in on the wasm app.
    w.log_in("wasm", "Ada")
    w.shot("wasm-app-logged-in")
    cookies = w.session_cookies()
    if len(cookies) != 1 or not cookies[0]["httpOnly"] or cookies[0].get("sameSite") != "Lax":
        raise Check(f"expected one HttpOnly, SameSite=Lax session cookie, got {cookies!r}")
    key = cookies[0]["value"]

    # The Django app sees the user.
    w.open("django", "/")
    w.expect_user("Ada")
    w.shot("django-app-sees-the-user")

    # Add to the cart in Django...
    w.add_to_cart("django", "Earl Grey tea")
    w.expect_cart(["Earl Grey tea"])
    w.shot("django-app-cart")

    # ... and see it on the wasm app, add more there.
    w.open("wasm", "/cart")
    w.expect_cart(["Earl Grey tea"])
    w.add_to_cart("wasm", "Scones")
    w.expect_cart(["Earl Grey tea", "Scones"])
    w.shot("wasm-app-cart")
    w.open("wasm", "/")
    # Home pages seen: the wasm app's after the login, Django's, and this one.
    visits = w.driver.find_element(By.ID, "visits").text
    if visits != "3":
        raise Check(f"the home pages of both apps count one session: expected 3 visits, got {visits}")
    if [c["value"] for c in w.session_cookies()] != [key]:
        raise Check("the session key changed while shopping")

    # Log out on the wasm app: logged out on both.
    w.log_out("wasm")
    w.shot("wasm-app-logged-out")
    w.open("django", "/")
    w.expect_user(None)
    w.shot("django-app-logged-out-too")

    # The other way round: in on Django, out on Django, seen on the wasm app.
    w.log_in("django", "Grace")
    w.open("wasm", "/")
    w.expect_user("Grace")
    w.shot("wasm-app-sees-the-django-login")
    w.log_out("django")
    w.open("wasm", "/")
    w.expect_user(None)
    w.shot("wasm-app-logged-out-by-django")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wasm", required=True)
    parser.add_argument("--django", required=True)
    parser.add_argument("--shots", required=True, type=Path)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    args = parser.parse_args()
    args.shots.mkdir(parents=True, exist_ok=True)
    for old in args.shots.glob("*.png"):
        old.unlink()

    with tempfile.TemporaryDirectory() as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = args.chromium
        # No sandbox (root in CI), and nothing reaching out to the network.
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=760,540"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(executable_path=args.chromedriver), options=options)
        # No implicit wait: `get` and `submit` wait for their page, and an absent element
        # (no user logged in) is an answer, not something to wait for.
        driver.implicitly_wait(0)
        w = Walk(driver, args.wasm, args.django, args.shots)
        try:
            walk(w)
        except Check as e:
            w.shot("failed")
            print(f"FAILED at step {w.step}: {e}\nURL: {driver.current_url}\n{driver.page_source}", file=sys.stderr)
            return 1
        finally:
            driver.quit()
    print(f"ok: {w.step} steps, screenshots in {args.shots}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
