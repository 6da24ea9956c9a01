#!/usr/bin/env python3
"""Signs a member in to the portal the way a person does, and prints the session cookie.

Requests a sign-in link through the form, waits for the mail in the outbox directory, opens
the link and presses its button. Usage: portal_sign_in.py BASE_URL EMAIL OUTBOX_DIR
"""
import glob
import http.cookiejar
import os
import re
import sys
import time
import urllib.parse
import urllib.request

base, email, outbox = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))


def csrf(page):
    return re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)


def post(path, token, **fields):
    data = urllib.parse.urlencode({"csrf": token, **fields}).encode()
    return opener.open(base + path, data).read().decode()


seen = set(glob.glob(os.path.join(outbox, "n*.eml")))
token = csrf(opener.open(base + "/signin").read().decode())
post("/signin", token, email=email)
deadline = time.time() + 60
link = None
while link is None:
    for name in sorted(set(glob.glob(os.path.join(outbox, "n*.eml"))) - seen):
        text = open(name, encoding="utf-8").read()
        found = re.search(r"https?://\S+(/signin/link/[0-9a-f]{64})", text)
        if f"To: <{email}>" in text and found:
            link = found.group(1)
    if link is None:
        if time.time() > deadline:
            sys.exit(f"no sign-in mail to {email} in {outbox}")
        time.sleep(0.2)
page = opener.open(base + link).read().decode()
post(link, csrf(page))
session = [c.value for c in jar if c.name == "vt_session"]
if not session:
    sys.exit("the sign-in link did not start a session")
print(session[0])
